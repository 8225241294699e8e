import { eventually } from "@rollcall/conformance";
import { type ConfigEvent, type Configuration, type ConfigView, RollcallError } from "@rollcall/core";
import { EtcdDriver } from "@rollcall/etcd";
import { type EtcdServer, startEtcd, TcpProxy } from "@rollcall/servers";
import type { Etcd3, IRequestOp } from "etcd3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Coordinators, driverConfig, freshNamespace, rawClient, urlFor } from "./support/etcd.js";

let server: EtcdServer;
let raw: Etcd3;
let proxy: TcpProxy;
let ns: string;
const coords = new Coordinators();

beforeAll(async () => {
  server = await startEtcd({ nodes: 1 });
  raw = rawClient(server.hosts);
  proxy = await TcpProxy.start(server.nodes[0]?.port ?? 0);
});
afterAll(async () => {
  await proxy?.close();
  raw?.close();
  await server?.close();
});
beforeEach(() => {
  ns = freshNamespace();
  proxy.restore();
});
afterEach(() => coords.closeAll());

function entryKey(store: string, key: string): Buffer {
  return Buffer.from(`${ns}/@config/${store}/${key}`);
}

async function currentRevision(): Promise<string> {
  return (await raw.kv.range({ key: Buffer.from("-"), count_only: true })).header.revision;
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<RollcallError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!RollcallError.isInstance(outcome)) throw new Error(`expected a RollcallError, got ${String(outcome)}`);
  return outcome;
}

function show(e: ConfigEvent): string {
  const mark = "resync" in e && e.resync ? " (resync)" : "";
  if (e.type === "snapshot")
    return `snapshot[${e.entries.map((x) => `${x.key}=${JSON.stringify(x.value)}`).join(",")}]`;
  if (e.type === "delete") return `delete ${e.key}${mark}`;
  return `put ${e.entry.key}=${JSON.stringify(e.entry.value)}${mark}`;
}

describe("etcd configuration layout", () => {
  it("an entry is a key without a lease under ns/@config/<store>/, its version the key's mod_revision", async () => {
    const coord = await coords.connect(urlFor(server.url, ns), "writer");
    const cfg = coord.config("nova");
    const version = await cfg.set("scheduler/max_attempts", 5);
    const kv = (await raw.kv.range({ key: entryKey("nova", "scheduler/max_attempts") })).kvs[0];
    expect(kv?.lease).toBe("0");
    expect(BigInt(kv?.mod_revision ?? 0)).toBe(version);
    expect(JSON.parse(kv?.value.toString("utf8") ?? "null")).toMatchObject({ value: 5 });

    // A group of the same name lives elsewhere: neither sees the other.
    await coord.join("nova", { createGroup: true });
    expect((await cfg.entries()).entries.map((e) => e.key)).toEqual(["scheduler/max_attempts"]);
    expect((await coord.members("nova")).map((m) => m.id)).toEqual(["writer"]);

    // The writer's lease is revoked on close; the entry stays, at its version.
    await coord.close();
    const reader = await coords.connect(urlFor(server.url, ns), "reader");
    expect(await reader.config("nova").get("scheduler/max_attempts")).toMatchObject({ value: 5, version });
    expect(await reader.groups()).toEqual(["nova"]);
  });

  it("a key's version grows across a delete and a re-create", async () => {
    const cfg = (await coords.connect(urlFor(server.url, ns), "w")).config("s");
    const first = await cfg.set("k", "a");
    expect(await cfg.delete("k")).toBe(true);
    expect(await cfg.delete("k")).toBe(false);
    const second = await cfg.set("k", "b");
    expect(second).toBeGreaterThan(first);
    expect((await cfg.get("k"))?.version).toBe(second);
    const kv = (await raw.kv.range({ key: entryKey("s", "k") })).kvs[0];
    expect(kv?.mod_revision).toBe(String(second));
    expect(kv?.version).toBe("1"); // etcd's own per-incarnation counter restarted: not what rollcall uses
  });

  it("needs no session: the driver's store works before open() and until close()", async () => {
    const driver = new EtcdDriver(driverConfig(server.url, ns));
    try {
      const written = await driver.configStore.put("s", "k", { a: 1 });
      expect(await driver.configStore.get("s", "k")).toEqual(written);
      expect((await driver.configStore.list("s", "")).revision).toBeGreaterThanOrEqual(written.version);
    } finally {
      await driver.close();
    }
    const error = await rejection(driver.configStore.get("s", "k"));
    expect(error.code).toBe("NOT_CONNECTED");
  });

  it("a value written by another etcd client reads as its JSON, or as its text when it is not JSON", async () => {
    await raw.put(entryKey("ext", "limit")).value("42");
    await raw.put(entryKey("ext", "name")).value("not json");
    const cfg = (await coords.connect(urlFor(server.url, ns), "r")).config("ext");
    const { entries } = await cfg.entries();
    expect(entries.map((e) => [e.key, e.value, e.updatedAt.getTime()])).toEqual([
      ["limit", 42, 0],
      ["name", "not json", 0],
    ]);
  });

  it("configs() skips past each store: names that prefix one another, a store larger than a scan page", async () => {
    const value = Buffer.from(JSON.stringify({ value: 1, updatedAt: 0 }));
    // 1100 keys in store "a" (etcd allows 128 operations per transaction).
    for (let batch = 0; batch < 11; batch++) {
      const puts: IRequestOp[] = Array.from({ length: 100 }, (_, i) => ({
        request_put: { key: entryKey("a", `k${batch * 100 + i}`), value },
      }));
      await raw.kv.txn({ compare: [], success: puts, failure: [] });
    }
    for (const store of ["a0", "a-b", "a.b", "a:z", "b"]) await raw.put(entryKey(store, "x")).value(value);
    // Not stores: a group and a member key of the same namespace.
    await raw.put(Buffer.from(`${ns}/@groups/c`)).value("{}");
    const coord = await coords.connect(urlFor(server.url, ns), "r");
    expect(await coord.configs()).toEqual(["a", "a-b", "a.b", "a0", "a:z", "b"]);
    await coord.config("a0").delete("x");
    expect(await coord.configs()).toEqual(["a", "a-b", "a.b", "a:z", "b"]);
  });
});

describe("etcd configuration compare-and-set", () => {
  it("ifVersion compares mod_revision: 0n only if absent, else exactly that version; delete likewise", async () => {
    const cfg = (await coords.connect(urlFor(server.url, ns), "w")).config("s");
    const v1 = await cfg.set("k", 1, { ifVersion: 0n });
    let error = await rejection(cfg.set("k", 2, { ifVersion: 0n }));
    expect([error.code, error.key, error.version]).toEqual(["VERSION_MISMATCH", "k", v1]);
    error = await rejection(cfg.set("k", 2, { ifVersion: v1 - 1n }));
    expect([error.code, error.version]).toEqual(["VERSION_MISMATCH", v1]);
    const v2 = await cfg.set("k", 2, { ifVersion: v1 });
    error = await rejection(cfg.delete("k", { ifVersion: v1 }));
    expect([error.code, error.version]).toEqual(["VERSION_MISMATCH", v2]);
    expect(await cfg.delete("k", { ifVersion: v2 })).toBe(true);
    error = await rejection(cfg.delete("k", { ifVersion: v2 }));
    expect([error.code, error.key, error.version]).toEqual(["VERSION_MISMATCH", "k", undefined]);
    // An old version never matches a re-created key (mod_revision, not etcd's per-incarnation version).
    error = await rejection(cfg.set("k", 3, { ifVersion: v1 }));
    expect([error.code, error.version]).toEqual(["VERSION_MISMATCH", undefined]);
    expect(await cfg.get("k")).toBeUndefined();
    // Nothing half-written by the rejected calls.
    expect((await raw.kv.range({ key: entryKey("s", "k") })).kvs).toEqual([]);
  });

  it("two coordinators writing the same version at once: exactly one wins, the other is told its version", async () => {
    const [a, b] = await Promise.all([
      coords.connect(urlFor(server.url, ns), "a"),
      coords.connect(urlFor(server.url, ns), "b"),
    ]);
    const cfgA = a.config("race");
    const cfgB = b.config("race");
    const won = { a: 0, b: 0 };
    let version = 0n;
    for (let round = 1; round <= 25; round++) {
      const [seenA, seenB] = await Promise.all([cfgA.get("n"), cfgB.get("n")]);
      expect(seenA?.version ?? 0n).toBe(version);
      expect(seenB?.version ?? 0n).toBe(version);
      const results = await Promise.allSettled([
        cfgA.set("n", { round, by: "a" }, { ifVersion: version }),
        cfgB.set("n", { round, by: "b" }, { ifVersion: version }),
      ]);
      const winners = results.flatMap((r, i) =>
        r.status === "fulfilled" ? [{ by: i === 0 ? "a" : "b", v: r.value }] : [],
      );
      const losers = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0];
      if (winner === undefined) throw new Error("no winner");
      expect(losers).toHaveLength(1);
      expect(RollcallError.hasCode(losers[0], "VERSION_MISMATCH") && losers[0].version).toBe(winner.v);
      expect(await cfgA.get("n")).toMatchObject({ value: { round, by: winner.by }, version: winner.v });
      won[winner.by as "a" | "b"]++;
      version = winner.v;
    }
    expect(won.a + won.b).toBe(25);
  });

  it("read-modify-write loops from two coordinators: every increment lands exactly once", async () => {
    const [a, b] = await Promise.all([
      coords.connect(urlFor(server.url, ns), "a"),
      coords.connect(urlFor(server.url, ns), "b"),
    ]);
    const versions: bigint[] = [];
    let mismatches = 0;
    const increment = async (cfg: Configuration, times: number) => {
      for (let done = 0; done < times; ) {
        const current = await cfg.get("counter");
        const next = ((current?.value as number | undefined) ?? 0) + 1;
        try {
          versions.push(await cfg.set("counter", next, { ifVersion: current?.version ?? 0n }));
          done++;
        } catch (error) {
          if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
          mismatches++;
        }
      }
    };
    await Promise.all([increment(a.config("c"), 40), increment(b.config("c"), 40)]);
    expect((await a.config("c").get("counter"))?.value).toBe(80);
    expect(new Set(versions).size).toBe(80);
    // Not asserted, only shown: how often the two collided.
    console.info(`read-modify-write: 80 increments, ${mismatches} version mismatches`);
  });
});

describe("etcd configuration watches", () => {
  /** A view of store `s` over the proxy (its session lives 10 s, longer than any cut here) and a direct writer. */
  async function setup(): Promise<{ view: ConfigView; events: string[]; writer: Configuration }> {
    const writer = (await coords.connect(urlFor(server.url, ns), "writer")).config("s");
    await writer.set("keep", 0);
    await writer.set("gone", 0);
    const watcher = await coords.connect(
      urlFor(`etcd://127.0.0.1:${proxy.port}`, ns, { sessionTimeout: 10_000 }),
      "watcher",
    );
    const view = await watcher.config("s").view();
    const events: string[] = [];
    view.on("change", (e) => events.push(show(e)));
    expect(view.entries().map((e) => e.key)).toEqual(["gone", "keep"]);
    return { view, events, writer };
  }

  it("a watcher cut off resumes from its last revision: every change made meanwhile arrives as itself", async () => {
    const { view, events, writer } = await setup();
    proxy.cut();
    await writer.set("k", 1);
    await writer.set("k", 2);
    await writer.delete("gone");
    await writer.set("new", "x");
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]); // cut off indeed
    proxy.restore();
    await eventually(() => events.length >= 4, 10_000, `the missed changes (so far ${events.join("; ")})`);
    expect(events).toEqual(["put k=1", "put k=2", "delete gone", 'put new="x"']);
    const listed = await writer.entries();
    expect(view.entries()).toEqual(listed.entries);
  });

  it("compaction past the watcher's revision: it resyncs, reports what changed overall, converges to entries()", async () => {
    const { view, events, writer } = await setup();
    proxy.cut();
    await writer.set("k", 1);
    await writer.set("k", 2);
    await writer.delete("gone");
    await writer.set("flash", 1);
    await writer.delete("flash");
    await raw.kv.compact({ revision: await currentRevision(), physical: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]); // cut off indeed
    proxy.restore();
    await eventually(() => events.some((e) => e.startsWith("snapshot")), 10_000, "the resync snapshot");
    // The intermediate k=1 and flash were compacted away: the diff reports only the outcome.
    expect(events).toEqual(["delete gone (resync)", "put k=2 (resync)", "snapshot[k=2,keep=0]"]);
    const listed = await writer.entries();
    expect(view.entries()).toEqual(listed.entries);
    // And it follows live changes again.
    await writer.set("after", true);
    await eventually(() => view.has("after"), 5000, "a change after the resync");
    expect(events.at(-1)).toBe("put after=true");
  });

  it("a watch started at a compacted revision (the driver's watch) asks for a resync", async () => {
    const driver = new EtcdDriver(driverConfig(server.url, ns));
    try {
      await driver.configStore.put("s", "k", 1);
      const { revision } = await driver.configStore.list("s", "");
      await driver.configStore.put("s", "k", 2);
      await raw.kv.compact({ revision: await currentRevision(), physical: true });
      const watch = driver.configStore.watch?.bind(driver.configStore);
      if (watch === undefined) throw new Error("the etcd configuration store has no push watch");
      const reason = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no resync within 10 s")), 10_000);
        const settle = (outcome: () => void) => {
          clearTimeout(timer);
          outcome();
        };
        watch("s", "", revision - 1n, {
          change: () => settle(() => reject(new Error("a change from a compacted revision"))),
          resync: (why) => settle(() => resolve(why)),
        }).catch((error: unknown) => settle(() => reject(error)));
      });
      expect(reason).toMatch(/compacted/);
    } finally {
      await driver.close();
    }
  });
});

describe("etcd configuration across a server restart", () => {
  it("entries keep their values and versions; a view converges to entries() afterwards", async () => {
    const writer = await coords.connect(urlFor(server.url, ns, { sessionTimeout: 10_000 }), "writer");
    const cfg = writer.config("s");
    const versions = new Map<string, bigint>();
    for (const key of ["a", "b/c", "b/d"]) versions.set(key, await cfg.set(key, { key }));
    const view = await writer.config("s").view({ prefix: "b/" });
    await server.nodes[0]?.restart();
    await eventually(
      async () => (await cfg.get("a").catch(() => undefined)) !== undefined,
      20_000,
      "the entry read after the restart",
    );
    const { entries } = await cfg.entries();
    expect(entries.map((e) => [e.key, e.value, e.version])).toEqual(
      [...versions].map(([key, version]) => [key, { key }, version]),
    );
    await cfg.set("b/e", 1);
    const listed = await cfg.entries({ prefix: "b/" });
    await eventually(() => view.has("b/e"), 10_000, "the view to follow after the restart");
    expect(view.entries()).toEqual(listed.entries);
    await view.close();
  });
});
