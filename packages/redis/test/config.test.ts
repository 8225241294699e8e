import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type ConfigEntry,
  type Coordinator,
  connect,
  type Logger,
  RollcallError,
  type SessionState,
} from "@rollcall/core";
import type { ConfigChange, ConfigWatchListener } from "@rollcall/core/driver";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import "../src/index.js";
import { RedisDriver } from "../src/redis-driver.js";
import { driverConfig, eventually, ListenerLog, Recorder, randomId, urlFor } from "./helpers.js";

/** The driver's configuration watch (Redis pushes, so it has one). */
function watchOf(driver: RedisDriver): NonNullable<RedisDriver["configStore"]["watch"]> {
  const watch = driver.configStore.watch?.bind(driver.configStore);
  if (!watch) throw new Error("the Redis configuration store has no watch()");
  return watch;
}

// startRedis() persists with an append-only file (no RDB): what a restart keeps is tested below against
// it and against a server started with `--appendonly no`.
let server: RedisServer;
let admin: Redis;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.connectionString);
});

afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

afterAll(async () => {
  admin?.disconnect();
  await server?.close();
});

async function coordinator(url: string, memberId = randomId("m"), logger?: Logger): Promise<Coordinator> {
  const coord = await connect(url, { memberId, ...(logger ? { logger } : {}) });
  cleanups.push(() => coord.close());
  return coord;
}

async function openDriver(base: string, namespace: string, params: Record<string, string> = {}) {
  const driver = new RedisDriver(driverConfig(base, randomId("d"), namespace, params));
  cleanups.push(() => driver.close());
  await driver.open(new ListenerLog(), AbortSignal.timeout(5000));
  return driver;
}

/** An ACL user whose connections the test can cut and keep out (the user is disabled meanwhile). */
class Cuttable {
  readonly name = randomId("u");
  private readonly password = randomBytes(12).toString("hex");

  constructor(
    private readonly redis: RedisServer,
    private readonly rules: readonly string[] = ["~*", "&*", "+@all"],
  ) {}

  async create(): Promise<void> {
    await admin.call("ACL", "SETUSER", this.name, "on", `>${this.password}`, ...this.rules);
    cleanups.push(() => admin.call("ACL", "DELUSER", this.name));
  }

  /** The server's URL as this user. */
  get base(): string {
    return this.redis.url.replace("redis://", `redis://${this.name}:${this.password}@`);
  }

  /** Disables the user and closes its connections: nothing reaches its clients until {@link restore}. */
  async cut(): Promise<void> {
    await admin.call("ACL", "SETUSER", this.name, "off");
    const killed = Number(await admin.client("KILL", "USER", this.name));
    expect(killed).toBeGreaterThan(0);
  }

  async restore(): Promise<void> {
    await admin.call("ACL", "SETUSER", this.name, "on");
  }
}

/** Records what a driver-level configuration watch delivers. */
class ChangeLog implements ConfigWatchListener {
  readonly changes: ConfigChange[] = [];
  readonly resyncs: string[] = [];
  change(change: ConfigChange): void {
    this.changes.push(change);
  }
  resync(reason: string): void {
    this.resyncs.push(reason);
  }
  get summary(): string[] {
    return this.changes.map((c) =>
      c.type === "put" ? `put ${c.entry.key}=${JSON.stringify(c.entry.value)}` : `delete ${c.key}`,
    );
  }
}

function mismatch(error: unknown): RollcallError {
  if (!RollcallError.isInstance(error)) throw error;
  expect(error.code).toBe("VERSION_MISMATCH");
  return error;
}

function plain(entries: ConfigEntry[]): unknown[] {
  return entries.map((e) => ({ key: e.key, value: e.value, version: e.version }));
}

describe("redis configuration store", () => {
  it("compare-and-set: 0n means absent, a mismatch names the version found and writes nothing, versions grow across delete + re-create", async () => {
    const coord = await coordinator(urlFor(server.url));
    const cfg = coord.config("nova");
    const first = await cfg.set("scheduler/max_attempts", 5, { ifVersion: 0n });
    expect(first).toBeGreaterThan(0n);
    const refused = mismatch(await cfg.set("scheduler/max_attempts", 6, { ifVersion: 0n }).catch((e) => e));
    expect(refused.key).toBe("scheduler/max_attempts");
    expect(refused.version).toBe(first);
    const stale = mismatch(
      await cfg.set("scheduler/max_attempts", 7, { ifVersion: first + 1000n }).catch((e) => e),
    );
    expect(stale.version).toBe(first);
    expect((await cfg.get("scheduler/max_attempts"))?.value).toBe(5);

    const second = await cfg.set("scheduler/max_attempts", { n: 6 }, { ifVersion: first });
    expect(second).toBeGreaterThan(first);
    mismatch(await cfg.delete("scheduler/max_attempts", { ifVersion: first }).catch((e) => e));
    expect(await cfg.delete("scheduler/max_attempts", { ifVersion: second })).toBe(true);
    expect(await cfg.delete("scheduler/max_attempts")).toBe(false);
    const absent = mismatch(
      await cfg.delete("scheduler/max_attempts", { ifVersion: second }).catch((e) => e),
    );
    expect(absent.version).toBeUndefined();
    expect(await cfg.get("scheduler/max_attempts")).toBeUndefined();

    const recreated = await cfg.set("scheduler/max_attempts", 8, { ifVersion: 0n });
    expect(recreated).toBeGreaterThan(second);
    const entry = await cfg.get("scheduler/max_attempts");
    expect(entry).toMatchObject({ key: "scheduler/max_attempts", value: 8, version: recreated });
    const [seconds = 0, micros = 0] = (await admin.time()).map(Number);
    expect(
      Math.abs((entry?.updatedAt.getTime() ?? 0) - (seconds * 1000 + Math.floor(micros / 1000))),
    ).toBeLessThan(1000);
  });

  it("concurrent compare-and-set from two coordinators: every version is won by exactly one", async () => {
    const url = urlFor(server.url);
    const [a, b] = await Promise.all([coordinator(url, "a"), coordinator(url, "b")]);
    const [ca, cb] = [a.config("race"), b.config("race")];
    let version = await ca.set("counter", 0);
    const winners: string[] = [];
    for (let round = 1; round <= 40; round++) {
      // Who sends first alternates, so both sides win rounds.
      const [first, second] = round % 2 === 0 ? [ca, cb] : [cb, ca];
      const sent = [
        first.set("counter", first === ca ? round : -round, { ifVersion: version }),
        second.set("counter", second === ca ? round : -round, { ifVersion: version }),
      ];
      const results = await Promise.allSettled(first === ca ? sent : [sent[1], sent[0]]);
      const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ who: i, version: r.value }] : []));
      const lost = results.flatMap((r) => (r.status === "rejected" ? [mismatch(r.reason)] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const winner = won[0] as { who: number; version: bigint };
      // The loser is told the version the winner wrote.
      expect(lost[0]?.version).toBe(winner.version);
      expect(winner.version).toBeGreaterThan(version);
      version = winner.version;
      winners.push(winner.who === 0 ? "a" : "b");
      const stored = await cb.get("counter");
      expect(stored?.version).toBe(version);
      expect(stored?.value).toBe(winner.who === 0 ? round : -round);
    }
    // CAS-increment from both sides: no increment is lost.
    const increment = async (cfg: typeof ca, times: number) => {
      for (let done = 0; done < times; ) {
        const current = await cfg.get("total");
        const value = typeof current?.value === "number" ? current.value : 0;
        try {
          await cfg.set("total", value + 1, { ifVersion: current?.version ?? 0n });
          done++;
        } catch (error) {
          mismatch(error);
        }
      }
    };
    await Promise.all([increment(ca, 50), increment(cb, 50)]);
    expect((await ca.get("total"))?.value).toBe(100);
    console.info(
      `compare-and-set race: a won ${winners.filter((w) => w === "a").length} of ${winners.length}`,
    );
  });

  it("list is one consistent snapshot with a revision a watch continues from; stores() and groups do not mix", async () => {
    const ns = randomId("ns");
    const [writer, reader] = await Promise.all([openDriver(server.url, ns), openDriver(server.url, ns)]);
    const store = writer.configStore;
    await store.put("nova", "a/1", 1);
    await store.put("nova", "a/2", { two: [2] });
    await store.put("nova", "b/1", "b");
    await writer.createGroup("nova");
    const listing = await reader.configStore.list("nova", "a/");
    expect(listing.entries.map((e) => e.key).sort()).toEqual(["a/1", "a/2"]);
    for (const entry of listing.entries) expect(listing.revision).toBeGreaterThanOrEqual(entry.version);
    // Changes between the listing and the watch are delivered; only those under the prefix.
    await store.put("nova", "a/1", 11);
    await store.put("nova", "b/1", "bb");
    await store.remove("nova", "a/2");
    const log = new ChangeLog();
    const handle = await watchOf(reader)("nova", "a/", listing.revision, log);
    await store.put("nova", "a/3", null);
    await eventually(() => log.changes.length === 3, 5000, "three changes under a/");
    expect(log.summary).toEqual(["put a/1=11", "delete a/2", "put a/3=null"]);
    const revisions = log.changes.map((c) => c.revision);
    expect([...revisions].sort((x, y) => (x < y ? -1 : 1))).toEqual(revisions);
    expect(log.resyncs).toEqual([]);
    await handle.close();

    expect((await reader.configStore.stores()).sort()).toEqual(["nova"]);
    expect(await reader.listGroups()).toEqual(["nova"]);
    await store.remove("nova", "a/1");
    await store.remove("nova", "a/3");
    await store.remove("nova", "b/1");
    expect(await reader.configStore.stores()).toEqual([]);
    expect(await reader.listGroups()).toEqual(["nova"]);
    // An emptied store keeps its revision: a listing never goes back.
    const empty = await reader.configStore.list("nova", "");
    expect(empty.entries).toEqual([]);
    expect(empty.revision).toBeGreaterThan(listing.revision);
    // No configuration key has a TTL.
    const keys = await admin.keys(`rollcall:{${ns}}:cfg*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await admin.pttl(key)).toBe(-1);
  });

  it("a watch resumes from the change log after a connection drop: changes made while cut off arrive in order, no resync", async () => {
    const ns = randomId("ns");
    const user = new Cuttable(server);
    await user.create();
    const writer = await openDriver(server.url, ns);
    const watcher = await openDriver(user.base, ns);
    await writer.configStore.put("svc", "k/0", 0);
    const log = new ChangeLog();
    await watchOf(watcher)("svc", "k/", (await watcher.configStore.list("svc", "k/")).revision, log);
    await writer.configStore.put("svc", "k/1", 1);
    await eventually(() => log.changes.length === 1, 5000, "the first change");

    await user.cut();
    await writer.configStore.put("svc", "k/2", 2);
    await writer.configStore.put("svc", "other", "not under k/");
    await writer.configStore.put("svc", "k/1", 11);
    await writer.configStore.remove("svc", "k/0");
    // Nothing can have reached the watcher yet: its user is disabled.
    expect(log.summary).toEqual(["put k/1=1"]);
    await user.restore();
    await eventually(() => log.changes.length === 4, 10_000, "the changes made while disconnected");
    expect(log.summary).toEqual(["put k/1=1", "put k/2=2", "put k/1=11", "delete k/0"]);
    expect(log.resyncs).toEqual([]);
    // ...and live changes after the reconnect, over pub/sub again.
    await writer.configStore.put("svc", "k/3", 3);
    await eventually(() => log.changes.length === 5, 5000, "a change after the reconnect");
    expect(log.resyncs).toEqual([]);
  });

  it("a watch cut off while the log is trimmed past it resynchronises, and the coordinator's view converges to entries()", async () => {
    const url = urlFor(server.url, { logLength: 10 });
    const user = new Cuttable(server);
    await user.create();
    const reasons: string[] = [];
    const quiet = () => {};
    const logger: Logger = {
      debug: (message: string, fields?: Record<string, unknown>) => {
        if (message === "resynchronising" && fields?.config !== undefined)
          reasons.push(String(fields?.reason));
      },
      info: quiet,
      warn: quiet,
      error: quiet,
    };
    const writer = await coordinator(url, "writer");
    const watcher = await coordinator(url.replace(server.url, user.base), "watcher", logger);
    const cfg = writer.config("flags");
    for (let i = 0; i < 5; i++) await cfg.set(`f/${i}`, i);
    const view = await watcher.config("flags").view();
    cleanups.push(() => view.close());
    expect(view.size).toBe(5);
    const events: string[] = [];
    view.on("change", (event) =>
      events.push(`${event.type}${"resync" in event && event.resync ? " (resync)" : ""}`),
    );

    await user.cut();
    // 30 changes: the log keeps 10, so it no longer reaches back to the view's revision.
    for (let i = 0; i < 10; i++) {
      await cfg.set(`f/${i}`, i * 10);
      await cfg.set(`g/${i}`, { i });
      if (i < 5) await cfg.delete(`f/${i}`);
      else await cfg.set(`f/${i}`, i * 100);
    }
    expect(await admin.xlen(`rollcall:{${new URL(url).searchParams.get("namespace")}}:cfg/flags/log`)).toBe(
      10,
    );
    await user.restore();
    const expected = async () => plain((await cfg.entries()).entries);
    await eventually(
      async () =>
        JSON.stringify(plain(view.entries()), bigints) === JSON.stringify(await expected(), bigints),
      10_000,
      "the view to converge",
    );
    expect(reasons.some((r) => r.includes("trimmed"))).toBe(true);
    expect(events).toContain("put (resync)");
    expect(events).toContain("delete (resync)");
    expect(events.at(-1)).toBe("snapshot");
    // Live again afterwards.
    await cfg.set("after", true);
    await eventually(() => view.get("after")?.value === true, 5000, "a change after the resync");
  });

  it("entries survive the writer's session expiry (reaped by another coordinator), and the writer goes on with them", async () => {
    const url = urlFor(server.url, { sessionTimeout: 2000, retryInterval: 500 });
    const user = new Cuttable(server);
    await user.create();
    const writer = await coordinator(url.replace(server.url, user.base), "writer");
    const observer = await coordinator(url, "observer");
    await writer.join("svc", { createGroup: true });
    const cfg = writer.config("nova");
    await cfg.set("db/url", "postgres://db/nova");
    await cfg.set("scheduler/max_attempts", 5);
    const before = plain((await cfg.entries()).entries);
    const membership = new Recorder(observer, "svc");
    cleanups.push(async () => membership.stop());
    await membership.waitFor((e) => e.type === "snapshot" && e.members.some((m) => m.id === "writer"), 5000);
    const states: SessionState[] = [];
    writer.on("session", (state) => states.push(state));

    await user.cut();
    // The observer's refresh reaps the writer's session: the member leaves, the entries stay.
    await membership.waitFor(
      (e) => e.type === "leave" && e.memberId === "writer" && e.reason === "expired",
      6000,
    );
    expect(plain((await observer.config("nova").entries()).entries)).toEqual(before);
    expect(await observer.configs()).toEqual(["nova"]);

    await user.restore();
    await eventually(
      async () => {
        try {
          return (await cfg.get("scheduler/max_attempts"))?.value === 5;
        } catch {
          return false;
        }
      },
      5000,
      "the writer to read its entry",
    );
    const version = (await cfg.get("scheduler/max_attempts"))?.version ?? 0n;
    await cfg.set("scheduler/max_attempts", 6, { ifVersion: version });
    await eventually(() => states.includes("expired"), 5000, "the writer to learn its session expired");
    expect((await observer.config("nova").get("scheduler/max_attempts"))?.value).toBe(6);
  });

  it("configuration calls work while the driver's session is expired and not re-opened", async () => {
    const ns = randomId("ns");
    const user = new Cuttable(server);
    await user.create();
    const driver = new RedisDriver(driverConfig(user.base, "writer", ns));
    cleanups.push(() => driver.close());
    const session = new ListenerLog();
    await driver.open(session, AbortSignal.timeout(5000));
    await driver.createGroup("svc");
    await driver.join("svc", "writer", {});
    const written = await driver.configStore.put("nova", "k", 1);
    await user.cut();
    await eventually(() => session.states.includes("expired"), 5000, "the session to expire");
    await user.restore();
    // No open(): the session stays gone, group writes are refused, configuration calls are served.
    await eventually(
      async () => {
        try {
          return (await driver.configStore.get("nova", "k"))?.version === written.version;
        } catch {
          return false;
        }
      },
      5000,
      "a configuration read on the reconnected connection",
    );
    const error = await driver.update("svc", "writer", {}).catch((e: unknown) => e);
    expect(RollcallError.isInstance(error) && error.code).toBe("NOT_CONNECTED");
    const next = await driver.configStore.put("nova", "k", 2, written.version);
    expect(next.version).toBeGreaterThan(written.version);
    expect(await driver.configStore.remove("nova", "k", next.version)).toBe(true);
    expect((await driver.configStore.list("nova", "")).entries).toEqual([]);
  });

  it("with the append-only file a restart keeps the entries and a watch resumes without a resync", async () => {
    const persistent = await startRedis();
    cleanups.push(() => persistent.close());
    const ns = randomId("ns");
    const writer = await openDriver(persistent.url, ns);
    const watcher = await openDriver(persistent.url, ns);
    const written = await writer.configStore.put("nova", "k", { v: 1 });
    const log = new ChangeLog();
    await watchOf(watcher)("nova", "", (await watcher.configStore.list("nova", "")).revision, log);
    const started = Date.now();
    await persistent.nodes[0]?.restart();
    const restartMs = Date.now() - started;
    const listing = await (async () => {
      for (const deadline = Date.now() + 10_000; ; ) {
        try {
          return await watcher.configStore.list("nova", "");
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    expect(listing.entries).toEqual([written]);
    await eventually(
      async () => {
        try {
          await writer.configStore.put("nova", "k", { v: 2 });
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      "the writer to be back",
    );
    await eventually(() => log.changes.length === 1, 10_000, "the change after the restart");
    expect(log.resyncs).toEqual([]);
    const change = log.changes[0];
    expect(change?.type === "put" && change.entry.version > written.version).toBe(true);
    console.info(`restart with appendonly: ${restartMs} ms, entries kept`);
  });

  it("without persistence a restart loses the entries: the watch resyncs, a view converges, and versions still grow", async () => {
    const volatile = await startRedis({ extraArgs: ["--appendonly", "no"] });
    cleanups.push(() => volatile.close());
    const url = urlFor(volatile.url, { sessionTimeout: 2000, retryInterval: 500 });
    const writer = await coordinator(url, "writer");
    const watcher = await coordinator(url, "watcher");
    expect(writer.characteristics.config).toBe("volatile");
    const cfg = writer.config("nova");
    const before = await cfg.set("a", 1);
    await cfg.set("b", 2);
    const view = await watcher.config("nova").view();
    cleanups.push(() => view.close());
    expect(view.size).toBe(2);

    await volatile.nodes[0]?.restart();
    let after = 0n;
    await eventually(
      async () => {
        try {
          after = await cfg.set("c", 3);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      "a write after the restart",
    );
    expect(after).toBeGreaterThan(before);
    await eventually(
      () => view.size === 1 && view.get("c")?.version === after,
      10_000,
      "the view to drop the lost entries",
    );
    expect(plain((await cfg.entries()).entries)).toEqual(plain(view.entries()));
  });

  it("works with exactly the ACL permissions the README lists", async () => {
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    const block = /```\nACL SETUSER rollcall on >secret ([^`]+)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const rules = (block ?? "").split(/\s+/).filter((rule) => rule !== "");
    const user = new Cuttable(server, rules);
    await user.create();
    const url = urlFor(user.base);
    const [writer, watcher] = await Promise.all([coordinator(url), coordinator(url)]);
    const cfg = writer.config("acl");
    const view = await watcher.config("acl").view();
    cleanups.push(() => view.close());
    const version = await cfg.set("a/b", { x: 1 }, { ifVersion: 0n });
    mismatch(await cfg.set("a/b", 2, { ifVersion: 0n }).catch((e: unknown) => e));
    await cfg.set("c", [1, 2]);
    expect((await cfg.entries({ prefix: "a/" })).entries.map((e) => e.key)).toEqual(["a/b"]);
    expect(await writer.configs()).toEqual(["acl"]);
    expect(await cfg.delete("a/b", { ifVersion: version })).toBe(true);
    await eventually(() => view.size === 1 && view.has("c"), 5000, "the view to follow");
  });

  it("refuses a store name that could leave its key (checked again below core)", async () => {
    const driver = await openDriver(server.url, randomId("ns"));
    for (const bad of ["a/b", "x{y}", "", "a|b"]) {
      const error = await driver.configStore.put(bad, "k", 1).catch((e: unknown) => e);
      expect(RollcallError.isInstance(error) && error.code).toBe("INVALID_ARGUMENT");
    }
  });
});

function bigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
