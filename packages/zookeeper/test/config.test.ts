import { createRequire } from "node:module";
import {
  type ConfigEvent,
  type Configuration,
  type Coordinator,
  connect,
  type Json,
  RollcallError,
} from "@rollcall/core";
import { TcpProxy } from "@rollcall/servers";
import type { ZooKeeperDriver } from "@rollcall/zookeeper";
import { afterEach, describe, expect, it } from "vitest";
import type { ZooKeeperConfigStore } from "../src/zookeeper-config.js";
import { eventually, fresh, rawClient, standaloneServer, ZNONODE } from "./helpers.js";

// This file restarts and kills its own server.
const zk = standaloneServer();
const coordinators: Coordinator[] = [];
afterEach(async () => {
  await Promise.allSettled(coordinators.splice(0).map((c) => c.close()));
});

async function coordinator(namespace: string, params = "sessionTimeout=2000"): Promise<Coordinator> {
  const coord = await connect(`${zk.server.url}/${namespace}?${params}`, { memberId: fresh("m") });
  coordinators.push(coord);
  return coord;
}

function driverOf(coord: Coordinator): ZooKeeperDriver {
  return (coord as unknown as { driver: ZooKeeperDriver }).driver;
}

/** The driver's configuration store with its test counters (a private field of the driver). */
function configsOf(coord: Coordinator): ZooKeeperConfigStore {
  return (driverOf(coord) as unknown as { configs: ZooKeeperConfigStore }).configs;
}

async function rejection(attempt: () => Promise<unknown>): Promise<RollcallError> {
  try {
    await attempt();
  } catch (error) {
    if (RollcallError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

/** Records a configuration watch, and the state it leads to. */
function recordWatch(cfg: Configuration, prefix?: string) {
  const events: ConfigEvent[] = [];
  const state = new Map<string, { version: bigint; value: Json }>();
  const controller = new AbortController();
  const done = (async () => {
    try {
      for await (const event of cfg.watch({
        ...(prefix === undefined ? {} : { prefix }),
        signal: controller.signal,
      })) {
        events.push(event);
        if (event.type === "snapshot") {
          state.clear();
          for (const e of event.entries) state.set(e.key, { version: e.version, value: e.value });
        } else if (event.type === "put") {
          state.set(event.entry.key, { version: event.entry.version, value: event.entry.value });
        } else state.delete(event.key);
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    state,
    lines: () => [...state].map(([k, e]) => `${k}@${e.version}=${JSON.stringify(e.value)}`).sort(),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

function lines(entries: { key: string; version: bigint; value: Json }[]): string[] {
  return entries.map((e) => `${e.key}@${e.version}=${JSON.stringify(e.value)}`).sort();
}

/**
 * Closes the driver's ZooKeeper session from another handle attached to it, as the server's expiry of
 * it would. The driver must be cut off first: otherwise it re-attaches to its session between the other
 * handle's attach and close, and the close does not end the session (it has moved back).
 */
async function expireSession(driver: ZooKeeperDriver): Promise<void> {
  const handle = (
    driver as unknown as { session: { handle: { client_id: string; client_password: string } } }
  ).session.handle;
  const require = createRequire(import.meta.url);
  const ZooKeeper = require("zookeeper") as new (
    config: object,
  ) => { init(c: object): void; close(): void; once(e: string, f: () => void): void };
  const other = new ZooKeeper({
    connect: zk.server.connectionString,
    timeout: 2000,
    debug_level: 0,
    client_id: handle.client_id,
    client_password: handle.client_password,
  });
  const connected = new Promise<void>((resolve) => other.once("connect", resolve));
  other.init({});
  await connected;
  other.close();
}

describe("configuration store", () => {
  it("a key with / is one znode named with %2F; a delete empties it (a tombstone); versions are mzxids", async () => {
    const namespace = fresh("c");
    const coord = await coordinator(namespace);
    expect(coord.characteristics.config).toBe("durable");
    const cfg = coord.config("nova");
    const v1 = await cfg.set("scheduler/deep/max_attempts", { n: 5 });
    const raw = await rawClient(zk.server.connectionString);
    try {
      const path = `/${namespace}/.config/nova/scheduler%2Fdeep%2Fmax_attempts`;
      const read = await raw.call("a_get", path, false);
      expect(read.rc).toBe(0);
      const [stat, data] = read.value as [{ mzxid: number }, Buffer];
      expect(BigInt(stat.mzxid)).toBe(v1);
      expect(JSON.parse(data.toString("utf8"))).toEqual({ n: 5 });
      expect(await cfg.get("scheduler/deep/max_attempts")).toMatchObject({ value: { n: 5 }, version: v1 });
      expect(await cfg.delete("scheduler/deep/max_attempts")).toBe(true);
      const tomb = await raw.call("a_get", path, false);
      expect(tomb.rc).toBe(0);
      const [tombStat, tombData] = tomb.value as [{ mzxid: number; version: number }, Buffer | null];
      expect(tombData?.length ?? 0).toBe(0);
      expect(tombStat.version, "the data version went on (1 write, 1 delete)").toBe(2);
      expect(await cfg.get("scheduler/deep/max_attempts")).toBeUndefined();
      expect(await coord.configs()).toEqual([]);
      expect((await cfg.entries()).entries).toEqual([]);
      const v2 = await cfg.set("scheduler/deep/max_attempts", 6, { ifVersion: 0n });
      expect(v2).toBeGreaterThan(BigInt(tombStat.mzxid));
      // The store lives apart from groups: a group of the same name is another znode.
      await coord.createGroup("nova");
      expect(await coord.groups()).toEqual(["nova"]);
      expect(await coord.configs()).toEqual(["nova"]);
    } finally {
      raw.close();
    }
  });

  it("compare-and-set from two coordinators at once: every increment and every create won by exactly one", async () => {
    const namespace = fresh("c");
    const [a, b] = [await coordinator(namespace), await coordinator(namespace)];
    const v0 = await a.config("counters").set("hits", 0);
    const wins: { value: number; version: bigint }[] = [];
    let mismatches = 0;
    const increment = async (coord: Coordinator, times: number) => {
      const cfg = coord.config("counters");
      for (let won = 0; won < times; ) {
        const current = await cfg.get("hits");
        const value = (current?.value as number) + 1;
        try {
          const version = await cfg.set("hits", value, { ifVersion: current?.version ?? 0n });
          wins.push({ value, version });
          won++;
        } catch (error) {
          if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
          expect(error.version).toBeGreaterThan(current?.version ?? 0n);
          mismatches++;
        }
      }
    };
    await Promise.all([increment(a, 40), increment(b, 40)]);
    wins.sort((x, y) => x.value - y.value);
    expect(wins.map((w) => w.value)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(new Set(wins.map((w) => w.version)).size).toBe(80);
    let previous = v0;
    for (const win of wins) {
      expect(win.version).toBeGreaterThan(previous);
      previous = win.version;
    }
    expect(await a.config("counters").get("hits")).toMatchObject({ value: 80, version: previous });
    // Both coordinators create the same fresh keys at once: one create each wins.
    const created = await Promise.all(
      [a, b].map(async (coord) => {
        let count = 0;
        for (let i = 0; i < 20; i++) {
          try {
            await coord.config("counters").set(`fresh/${i}`, coord.memberId, { ifVersion: 0n });
            count++;
          } catch (error) {
            if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
            expect(error.version).toBeDefined();
          }
        }
        return count;
      }),
    );
    expect((created[0] ?? 0) + (created[1] ?? 0)).toBe(20);
    expect((await a.config("counters").entries({ prefix: "fresh/" })).entries).toHaveLength(20);
    console.log(`[config cas] 80 increments by two coordinators: ${mismatches} lost compare-and-sets`);
  }, 60_000);

  it("a compare-and-set read before a delete and a re-create loses (the znode keeps its data version)", async () => {
    const namespace = fresh("c");
    const [a, b] = [await coordinator(namespace), await coordinator(namespace)];
    const v1 = await a.config("nova").set("k", "first");
    // b deletes and re-creates the key: a's version is gone, even though the data version of a fresh
    // znode would again be 0 — the one a read at v1 had.
    expect(await b.config("nova").delete("k", { ifVersion: v1 })).toBe(true);
    const v2 = await b.config("nova").set("k", "second", { ifVersion: 0n });
    const lost = await rejection(() => a.config("nova").set("k", "third", { ifVersion: v1 }));
    expect(lost).toMatchObject({ code: "VERSION_MISMATCH", key: "k", version: v2 });
    const lostDelete = await rejection(() => a.config("nova").delete("k", { ifVersion: v1 }));
    expect(lostDelete).toMatchObject({ code: "VERSION_MISMATCH", version: v2 });
    expect(await a.config("nova").get("k")).toMatchObject({ value: "second", version: v2 });
  });

  it("a listing is consistent while a writer changes two keys in turn", async () => {
    const namespace = fresh("c");
    const [writer, reader] = [await coordinator(namespace), await coordinator(namespace)];
    const cfg = writer.config("pair");
    await cfg.set("p/a", 0);
    await cfg.set("p/b", 0);
    let stop = false;
    const writing = (async () => {
      for (let i = 1; !stop; i++) {
        await cfg.set("p/a", i);
        await cfg.set("p/b", i);
      }
    })();
    let listings = 0;
    try {
      for (; listings < 60; listings++) {
        const { entries, revision } = await reader.config("pair").entries();
        const a = entries.find((e) => e.key === "p/a");
        const b = entries.find((e) => e.key === "p/b");
        // The writer sets a before b: b is never ahead of a, nor more than one behind.
        expect(b?.value as number, `listing ${listings}`).toBeLessThanOrEqual(a?.value as number);
        expect((a?.value as number) - (b?.value as number)).toBeLessThanOrEqual(1);
        expect(revision).toBeGreaterThanOrEqual(a?.version ?? 0n);
        expect(revision).toBeGreaterThanOrEqual(b?.version ?? 0n);
      }
    } finally {
      stop = true;
      await writing;
    }
    const { listings: total, unsettled } = configsOf(reader).stats;
    console.log(`[config listing] ${total} listings under writes, ${unsettled} without a snapshot`);
  }, 60_000);

  it("watch: each writer's writes to several keys come in its order, deletes included, and the watch converges", async () => {
    const namespace = fresh("c");
    const watcher = await coordinator(namespace);
    const writers = [await coordinator(namespace), await coordinator(namespace)];
    const recorder = recordWatch(watcher.config("nova"));
    await eventually(() => recorder.events.length > 0, 10_000, "the snapshot");
    await Promise.all(
      writers.map(async (coord, w) => {
        const cfg = coord.config("nova");
        for (let seq = 0; seq < 60; seq++) {
          const key = `w${w}/k${seq % 4}`;
          if (seq % 7 === 6) await cfg.delete(key);
          else await cfg.set(key, { w, seq });
        }
      }),
    );
    const expected = lines((await writers[0]?.config("nova").entries())?.entries ?? []);
    await eventually(
      () => recorder.lines().join("\n") === expected.join("\n"),
      10_000,
      () => `convergence: ${recorder.lines().join(", ")} vs ${expected.join(", ")}`,
    );
    await recorder.stop();
    // Per writer, across its keys: the watched puts in the order it wrote them.
    for (const w of [0, 1]) {
      const seqs = recorder.events.flatMap((e) =>
        e.type === "put" && (e.entry.value as { w: number }).w === w
          ? [(e.entry.value as { seq: number }).seq]
          : [],
      );
      expect(
        seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)),
        `writer ${w}: ${seqs}`,
      ).toBe(true);
    }
    // Revisions only grow, and each is the zxid of its write: no change was found after a later one.
    const revisions = recorder.events.flatMap((e) =>
      e.type === "put" ? [e.entry.version] : e.type === "delete" ? [e.revision] : [],
    );
    expect(revisions.every((r, i) => i === 0 || r > (revisions[i - 1] as bigint))).toBe(true);
    expect(configsOf(watcher).watchStats.restamped).toBe(0);
    expect(recorder.events.filter((e) => e.type === "snapshot")).toHaveLength(1);
  }, 60_000);

  it("a watch from an older revision than the last listing's delivers every change after it, in order", async () => {
    const namespace = fresh("c");
    const coord = await coordinator(namespace);
    const store = configsOf(coord);
    const cfg = coord.config("nova");
    await cfg.set("x", 1);
    await cfg.set("y", 1);
    await cfg.set("quiet", 1);
    const { revision: from } = await store.list("nova", "");
    const vx = await cfg.set("x", 2);
    await cfg.delete("y");
    const vz = await cfg.set("z", 3);
    // A newer listing is kept for a watch from its revision; this one starts from the older one.
    await store.list("nova", "");
    const changes: string[] = [];
    const resyncs: string[] = [];
    const handle = await store.watch("nova", "", from, {
      change: (c) =>
        changes.push(c.type === "put" ? `put ${c.entry.key}@${c.entry.version}` : `delete ${c.key}`),
      resync: (why) => resyncs.push(why),
    });
    try {
      await eventually(
        () => changes.length === 3,
        10_000,
        () => `three changes (${changes})`,
      );
      expect(changes).toEqual([`put x@${vx}`, "delete y", `put z@${vz}`]);
      const vq = await cfg.set("quiet", 2);
      await eventually(
        () => changes.length === 4,
        10_000,
        () => `a fourth change (${changes})`,
      );
      expect(changes[3]).toBe(`put quiet@${vq}`);
      expect(resyncs).toEqual([]);
    } finally {
      await handle.close();
    }
  });

  it("entries survive the coordinator's session expiry; calls made while it is re-opened work", async () => {
    const namespace = fresh("c");
    // The coordinator reaches the server through a relay the test cuts while it ends the session.
    const proxy = await TcpProxy.start(Number(zk.server.connectionString.split(":").at(-1)));
    const coord = await connect(`zookeeper://127.0.0.1:${proxy.port}/${namespace}?sessionTimeout=2000`, {
      memberId: fresh("m"),
    });
    coordinators.push(coord);
    const cfg = coord.config("nova");
    await cfg.set("a/b", 1);
    await cfg.set("c", [1, 2]);
    const before = lines((await cfg.entries()).entries);
    // Deadlines for a loaded 2-core machine: an expiry, a re-opened session and a resync in a row.
    const recorder = recordWatch(cfg);
    await eventually(() => recorder.events.length > 0, 30_000, "the snapshot");
    const states: string[] = [];
    coord.on("session", (state) => states.push(state));
    proxy.cut();
    await eventually(
      () => states.includes("suspended"),
      30_000,
      () => `suspended (${states})`,
    );
    await expireSession(driverOf(coord));
    proxy.restore();
    await eventually(
      () => states.includes("expired"),
      30_000,
      () => `expired (${states})`,
    );
    // The coordinator has no session now; configuration calls wait for the next one.
    const version = await cfg.set("during/expiry", true);
    expect(await cfg.get("during/expiry")).toMatchObject({ value: true, version });
    expect(lines((await cfg.entries()).entries)).toEqual([...before, `during/expiry@${version}=true`].sort());
    const other = await coordinator(namespace);
    expect(lines((await other.config("nova").entries()).entries)).toEqual(
      [...before, `during/expiry@${version}=true`].sort(),
    );
    // The watch resynchronised and goes on.
    const after = await other.config("nova").set("a/b", 2);
    await eventually(
      () => recorder.state.get("a/b")?.version === after && recorder.state.has("during/expiry"),
      30_000,
      "the watch after the expiry",
    );
    await recorder.stop();
    await coord.close();
    await proxy.close();
  }, 120_000);

  it("a watch resynchronises after a reconnect and misses nothing written while it was away", async () => {
    const namespace = fresh("c");
    const watcher = await coordinator(namespace, "sessionTimeout=8000");
    const cfg = watcher.config("nova");
    await cfg.set("x", 1);
    await cfg.set("y", 2);
    const recorder = recordWatch(cfg);
    await eventually(() => recorder.events.length > 0, 10_000, "the snapshot");
    const states: string[] = [];
    watcher.on("session", (state) => states.push(state));
    const node = zk.server.nodes[0];
    await node?.stop();
    await eventually(
      () => states.includes("suspended"),
      10_000,
      () => `suspended (${states})`,
    );
    await node?.start();
    // Written by another coordinator as soon as the server is back, maybe before the watcher reconnects.
    const writer = await coordinator(namespace);
    const vx = await writer.config("nova").set("x", 10);
    await writer.config("nova").delete("y");
    const vz = await writer.config("nova").set("z", { n: 3 });
    await eventually(
      () => states.at(-1) === "connected",
      15_000,
      () => `connected (${states})`,
    );
    expect(states).not.toContain("expired");
    await eventually(
      () => recorder.lines().join(",") === [`x@${vx}=10`, `z@${vz}={"n":3}`].join(","),
      10_000,
      () => `the watch after the reconnect: ${recorder.lines()}`,
    );
    await recorder.stop();
  }, 60_000);

  it("entries survive a server crash and restart, with their versions; compare-and-set goes on from them", async () => {
    const namespace = fresh("c");
    const coord = await coordinator(namespace);
    const cfg = coord.config("nova");
    await cfg.set("scheduler/max_attempts", 5);
    const workers = await cfg.set("api/workers", { n: 8 });
    await cfg.set("gone", 1);
    await cfg.delete("gone");
    const before = lines((await cfg.entries()).entries);
    await coord.close();
    const node = zk.server.nodes[0];
    await node?.kill();
    await node?.start();
    const reader = await coordinator(namespace);
    const rcfg = reader.config("nova");
    expect(lines((await rcfg.entries()).entries)).toEqual(before);
    const next = await rcfg.set("api/workers", { n: 9 }, { ifVersion: workers });
    expect(next).toBeGreaterThan(workers);
    expect(await rcfg.get("gone")).toBeUndefined();
  }, 60_000);

  it("tombstones are swept once older than the retention; a re-created key's version is above its old ones", async () => {
    const namespace = fresh("c");
    const coord = await coordinator(namespace, "sessionTimeout=2000&journalRetention=1000");
    const cfg = coord.config("nova");
    const v1 = await cfg.set("old/key", 1);
    expect(await cfg.delete("old/key")).toBe(true);
    const raw = await rawClient(zk.server.connectionString);
    const path = `/${namespace}/.config/nova/old%2Fkey`;
    try {
      expect((await raw.call("a_exists", path, false)).rc).toBe(0);
      const sweeper = configsOf(coord).sweeper;
      // Listings offer to sweep (at most once per quarter of the retention).
      await eventually(
        async () => {
          await cfg.entries();
          return (await raw.call("a_exists", path, false)).rc === ZNONODE;
        },
        10_000,
        () => `the tombstone swept (${JSON.stringify(sweeper.stats)})`,
      );
      expect(sweeper.stats.deleted).toBeGreaterThanOrEqual(1);
      const v2 = await cfg.set("old/key", 2, { ifVersion: 0n });
      expect(v2).toBeGreaterThan(v1);
    } finally {
      raw.close();
    }
  }, 30_000);
});
