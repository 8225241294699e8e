import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ConfigEvent, connect, parseUrl, RollcallError } from "@rollcall/core";
import type { ConfigChange, ConfigDriver, ConfigRecord } from "@rollcall/core/driver";
import knexFactory, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexConfig, sqliteFilename } from "../src/dialect.js";
import type { Dialect } from "../src/options.js";
import { migrate, SCHEMA_VERSION, tableNames } from "../src/schema.js";
import { SqlDriver } from "../src/sql-driver.js";
import { SqlStore } from "../src/sql-store.js";
import {
  type Databases,
  DIALECTS,
  driverConfig,
  eventually,
  ListenerLog,
  randomId,
  startDatabases,
  withQuery,
} from "./helpers.js";

const INCREMENT = fileURLToPath(new URL("./fixtures/config-increment.mjs", import.meta.url));
const CONNECT_JOIN = fileURLToPath(new URL("./fixtures/connect-join.mjs", import.meta.url));

/** Connects in a separate process (migrating the tables if needed) and joins `group`; resolves with its seq. */
function joinInProcess(url: string, memberId: string, group: string): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const child = fork(CONNECT_JOIN, [url, memberId, group], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      execArgv: [],
    });
    let seq: string | undefined;
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    child.on("message", (m: { seq?: string }) => {
      seq = m.seq;
    });
    child.on("exit", (code) =>
      code === 0 && seq ? resolve(BigInt(seq)) : reject(new Error(`${memberId} exited ${code}: ${stderr}`)),
    );
  });
}

let dbs: Databases;
const drivers: SqlDriver[] = [];
const admins: Knex[] = [];

beforeAll(async () => {
  dbs = await startDatabases();
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.close()));
  await Promise.allSettled(admins.map((k) => k.destroy()));
  await dbs?.close();
}, 60_000);

async function openDriver(
  dialect: Dialect,
  memberId: string,
  namespace: string,
  query: Record<string, string | number> = {},
  sessionTimeout = 2000,
) {
  const driver = new SqlDriver(
    dialect,
    driverConfig(withQuery(dbs.urls[dialect], query), memberId, namespace, sessionTimeout),
  );
  drivers.push(driver);
  const log = new ListenerLog();
  await driver.open(log, AbortSignal.timeout(10_000));
  return { driver, log };
}

/** A separate connection to the same database, for looking behind the driver's back. */
function admin(dialect: Dialect): Knex {
  const url = parseUrl(dbs.urls[dialect]);
  const config = knexConfig(dialect, url, { poolSize: 2, ssl: false, connectTimeout: 5000 });
  const knex = knexFactory(
    dialect === "sqlite" ? { ...config, connection: { filename: sqliteFilename(url) } } : config,
  );
  admins.push(knex);
  return knex;
}

/** The rejection of `promise`, which must reject with a RollcallError. */
async function rejection(promise: Promise<unknown>): Promise<RollcallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!RollcallError.isInstance(error)) throw new Error(`expected a RollcallError, got ${String(error)}`);
  return error;
}

/** Records a push watch's changes and resyncs. */
class ChangeLog {
  readonly changes: ConfigChange[] = [];
  readonly resyncs: string[] = [];
  change(change: ConfigChange): void {
    this.changes.push(change);
  }
  resync(reason: string): void {
    this.resyncs.push(reason);
  }
}

/** Runs the increment fixture in `n` processes at once; resolves with what each won. */
async function incrementInProcesses(
  url: string,
  store: string,
  key: string,
  n: number,
  count: number,
): Promise<{ won: { value: number; version: string; read: string }[]; conflicts: number }[]> {
  const children = Array.from({ length: n }, (_, i) => {
    const child = fork(INCREMENT, [url, `writer-${i}`, store, key, String(count)], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      execArgv: [],
    });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.on("message", (m: { type: string }) => {
        if (m.type === "ready") resolve();
      });
      child.on("exit", (code) => reject(new Error(`writer-${i} exited ${code} before ready: ${stderr}`)));
    });
    const done = new Promise<{ won: { value: number; version: string; read: string }[]; conflicts: number }>(
      (resolve, reject) => {
        let result:
          | { won: { value: number; version: string; read: string }[]; conflicts: number }
          | undefined;
        child.on("message", (m: { type: string; won?: never; conflicts?: number }) => {
          if (m.type === "done") result = { won: m.won ?? [], conflicts: m.conflicts ?? 0 };
        });
        child.on("exit", (code) =>
          code === 0 && result ? resolve(result) : reject(new Error(`writer-${i} exited ${code}: ${stderr}`)),
        );
      },
    );
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  // Released together, so the writers contend from their first write.
  for (const c of children) c.child.send("go");
  return Promise.all(children.map((c) => c.done));
}

describe.each(DIALECTS)("%s configuration", (dialect) => {
  it("declares a durable store read through changes() on every dialect, woken by hints (NOTIFY on PostgreSQL)", async () => {
    const { driver } = await openDriver(dialect, "a", randomId("ns"));
    expect(driver.characteristics.config).toBe("durable");
    const store: ConfigDriver = driver.configStore;
    // Core uses watch() when present: the change log is followed by core's feed instead.
    expect("watch" in store).toBe(false);
    expect(typeof store.changes).toBe("function");
    expect(typeof driver.changeHints).toBe("function");
  });

  it("puts, gets, lists and removes; a key's version grows across a delete and a re-create", async () => {
    const { driver } = await openDriver(dialect, "a", randomId("ns"));
    const cfg = driver.configStore;
    const first = await cfg.put("nova", "scheduler/max_attempts", 5);
    expect(first.version).toBeGreaterThan(0n);
    expect(await cfg.get("nova", "scheduler/max_attempts")).toEqual(first);
    const second = await cfg.put("nova", "scheduler/max_attempts", { n: [6, "x", null, true] });
    expect(second.version).toBeGreaterThan(first.version);
    expect((await cfg.get("nova", "scheduler/max_attempts"))?.value).toEqual({ n: [6, "x", null, true] });
    await cfg.put("nova", "api/workers", "ü 😀 \u0000 '\"`\\");
    expect((await cfg.get("nova", "api/workers"))?.value).toBe("ü 😀 \u0000 '\"`\\");

    const listing = await cfg.list("nova", "scheduler/");
    expect(listing.entries.map((e) => e.key)).toEqual(["scheduler/max_attempts"]);
    expect(listing.revision).toBeGreaterThanOrEqual(second.version);
    expect((await cfg.list("nova", "")).entries).toHaveLength(2);
    expect(await cfg.stores()).toEqual(["nova"]);

    expect(await cfg.remove("nova", "scheduler/max_attempts")).toBe(true);
    expect(await cfg.get("nova", "scheduler/max_attempts")).toBeUndefined();
    expect(await cfg.remove("nova", "scheduler/max_attempts")).toBe(false);
    const again = await cfg.put("nova", "scheduler/max_attempts", 7);
    expect(again.version).toBeGreaterThan(second.version);

    await cfg.remove("nova", "api/workers");
    await cfg.remove("nova", "scheduler/max_attempts");
    expect(await cfg.stores()).toEqual([]);
  });

  it("keeps stores apart from groups and namespaces: a group named like a store does not collide", async () => {
    const namespace = randomId("ns");
    const { driver } = await openDriver(dialect, "a", namespace);
    const { driver: neighbour } = await openDriver(dialect, "b", randomId("other"));
    await driver.configStore.put("nova", "k", 1);
    await neighbour.configStore.put("nova", "k", 2);
    await driver.createGroup("nova");
    const member = await driver.join("nova", "a", { x: 1 });
    expect((await driver.members("nova")).members.map((m) => m.id)).toEqual(["a"]);
    const events = await driver.changes("nova", member.seq - 1n);
    expect("events" in events && events.events.map((e) => e.type)).toEqual(["join"]);
    await driver.leave("nova", "a");
    await driver.deleteGroup("nova");
    expect((await driver.configStore.get("nova", "k"))?.value).toBe(1);
    expect((await neighbour.configStore.get("nova", "k"))?.value).toBe(2);
    expect(await driver.listGroups()).toEqual([]);
  });

  it("matches prefixes literally and case-sensitively (`_` is no wildcard)", async () => {
    const { driver } = await openDriver(dialect, "a", randomId("ns"));
    const cfg: ConfigDriver = driver.configStore;
    for (const key of ["a_b/x", "aXb/y", "A_b/z", "a_b", "a_bc/w"]) await cfg.put("s", key, key);
    const keys = (await cfg.list("s", "a_b/")).entries.map((e) => e.key).sort();
    expect(keys).toEqual(["a_b/x"]);
    const since = (await cfg.list("s", "")).revision;
    await cfg.put("s", "aXb/x", 1);
    await cfg.put("s", "a_b/y", 2);
    const read = async () => {
      if (cfg.changes) return cfg.changes("s", "a_b/", since);
      const log = new ChangeLog();
      const handle = await cfg.watch?.("s", "a_b/", since, log);
      await eventually(() => log.changes.length >= 1, 5000, "the change under the prefix");
      await handle?.close();
      return { changes: log.changes, revision: 0n };
    };
    const batch = await read();
    expect("changes" in batch && batch.changes.map((c) => (c.type === "put" ? c.entry.key : c.key))).toEqual([
      "a_b/y",
    ]);
  });

  it("compare-and-set: 0n only if absent, a mismatch names the version found and writes nothing", async () => {
    const { driver } = await openDriver(dialect, "a", randomId("ns"));
    const cfg = driver.configStore;
    const created = await cfg.put("s", "k", "one", 0n);
    const taken = await rejection(cfg.put("s", "k", "two", 0n));
    expect(taken.code).toBe("VERSION_MISMATCH");
    expect(taken.key).toBe("k");
    expect(taken.version).toBe(created.version);

    const revision = (await cfg.list("s", "")).revision;
    const stale = await rejection(cfg.put("s", "k", "two", created.version + 1000n));
    expect(stale.code).toBe("VERSION_MISMATCH");
    expect(stale.version).toBe(created.version);
    const wrongDelete = await rejection(cfg.remove("s", "k", created.version + 1n));
    expect(wrongDelete.version).toBe(created.version);
    const absent = await rejection(cfg.remove("s", "nothing", 3n));
    expect(absent.code).toBe("VERSION_MISMATCH");
    expect(absent.version).toBeUndefined();
    const absentPut = await rejection(cfg.put("s", "nothing", 1, 3n));
    expect(absentPut.version).toBeUndefined();
    // Nothing half-written: the value, the version and the revision are as before the rejected calls.
    expect(await cfg.get("s", "k")).toEqual(created);
    expect(await cfg.get("s", "nothing")).toBeUndefined();
    const after = await cfg.list("s", "");
    expect(after.revision).toBe(revision);

    const updated = await cfg.put("s", "k", "two", created.version);
    expect(updated.version).toBeGreaterThan(created.version);
    expect(await cfg.remove("s", "k", updated.version)).toBe(true);
    const recreated = await cfg.put("s", "k", "three", 0n);
    expect(recreated.version).toBeGreaterThan(updated.version);
  });

  it("concurrent compare-and-set from two coordinators in separate processes: each version won by exactly one", async () => {
    const namespace = randomId("ns");
    const url = withQuery(dbs.urls[dialect], { namespace, sessionTimeout: 5000 });
    const store = "race";
    const perWriter = 25;
    const results = await incrementInProcesses(url, store, "counter", 2, perWriter);
    const won = results.flatMap((r) => r.won);
    // No lost update: every increment from 1 to 50 was won by exactly one writer.
    expect(won.map((w) => w.value).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 2 * perWriter }, (_, i) => i + 1),
    );
    // Versions are distinct and grow with the value; each write was based on the previous one's version.
    const byValue = [...won].sort((a, b) => a.value - b.value);
    for (let i = 1; i < byValue.length; i++) {
      const [prev, cur] = [byValue[i - 1], byValue[i]];
      expect(BigInt(cur?.version ?? "0")).toBeGreaterThan(BigInt(prev?.version ?? "0"));
      expect(cur?.read).toBe(prev?.version);
    }
    const { driver } = await openDriver(dialect, "checker", namespace);
    const final = await driver.configStore.get(store, "counter");
    expect(final?.value).toBe(2 * perWriter);
    expect(String(final?.version)).toBe(byValue.at(-1)?.version);
    // The contention was real: at least one attempt lost (both writers released at once, 50 increments).
    expect(results.reduce((n, r) => n + r.conflicts, 0)).toBeGreaterThan(0);
  }, 120_000);

  it("a watch delivers every change after its snapshot in commit order, under concurrent writers", async () => {
    const namespace = randomId("ns");
    const url = withQuery(dbs.urls[dialect], { namespace, pollInterval: 100 });
    const watcher = await connect(url, { memberId: "watcher" });
    const writers = await Promise.all([connect(url, { memberId: "w1" }), connect(url, { memberId: "w2" })]);
    try {
      const cfg = watcher.config("app");
      await writers[0]?.config("app").set("svc/seed", 0);
      const events: ConfigEvent[] = [];
      const abort = new AbortController();
      const iterate = (async () => {
        for await (const event of cfg.watch({ prefix: "svc/", signal: abort.signal })) events.push(event);
      })();
      await eventually(() => events.some((e) => e.type === "snapshot"), 10_000, "the snapshot");
      // Two writers at once: puts and deletes under the prefix, and noise outside it.
      const written: { key: string; version: bigint }[] = [];
      const deleted: string[] = [];
      await Promise.all(
        writers.map(async (w, i) => {
          const store = w.config("app");
          for (let n = 0; n < 30; n++) {
            const key = `svc/k${i}-${n % 7}`;
            written.push({ key, version: await store.set(key, { i, n }) });
            await store.set(`other/k${i}`, n);
            if (n % 5 === 4 && (await store.delete(key))) deleted.push(key);
          }
        }),
      );
      const expected = await cfg.entries({ prefix: "svc/" });
      const state = new Map<string, bigint>();
      await eventually(
        () => {
          state.clear();
          for (const e of events) {
            if (e.type === "snapshot") for (const entry of e.entries) state.set(entry.key, entry.version);
            else if (e.type === "put") state.set(e.entry.key, e.entry.version);
            else state.delete(e.key);
          }
          return (
            state.size === expected.entries.length &&
            expected.entries.every((entry) => state.get(entry.key) === entry.version)
          );
        },
        15_000,
        "the watch to converge to entries()",
      );
      abort.abort();
      await iterate;
      // Completeness and order: every put under the prefix arrived, in version order, none from outside.
      const puts = events.flatMap((e) => (e.type === "put" ? [e] : []));
      expect(puts.every((e) => e.entry.key.startsWith("svc/") && e.resync === undefined)).toBe(true);
      const versions = puts.map((e) => e.entry.version);
      expect(versions).toEqual([...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(new Set(versions)).toEqual(new Set(written.map((w) => w.version)));
      expect(events.filter((e) => e.type === "delete").length).toBe(deleted.length);
    } finally {
      await Promise.allSettled([watcher.close(), ...writers.map((w) => w.close())]);
    }
  }, 60_000);

  it("entries survive the writer's session expiry and close; config works while the session is expired", async () => {
    const namespace = randomId("ns");
    const writerId = randomId("writer");
    const { driver: writer, log } = await openDriver(dialect, writerId, namespace, {}, 1500);
    const { driver: other } = await openDriver(dialect, "other", namespace);
    await writer.createGroup("g");
    await writer.join("g", writerId, {});
    const written = await writer.configStore.put("s", "k", { kept: true });
    // Behind the driver's back: the writer's session deadline passes on the database.
    const db = admin(dialect);
    await db(tableNames("rollcall_").sessions).where({ member_id: writerId }).update({ deadline: 0 });
    await log.waitFor("expired", 10_000);
    // The reaper (another coordinator noticing the passed deadline) removes the member, not the entry.
    await eventually(
      async () => (await other.members("g")).members.length === 0,
      10_000,
      "the writer's member to be reaped",
    );
    expect(await other.configStore.get("s", "k")).toEqual(written);
    // The expired coordinator's configuration still works: it needs the database, not a session.
    const after = await writer.configStore.put("s", "k2", 2);
    expect(after.version).toBeGreaterThan(written.version);
    await writer.close();
    await expect(rejection(writer.configStore.get("s", "k"))).resolves.toMatchObject({
      code: "NOT_CONNECTED",
    });
    const { driver: reader } = await openDriver(dialect, "reader", namespace);
    expect((await reader.configStore.list("s", "")).entries.map((e) => e.key).sort()).toEqual(["k", "k2"]);
  }, 60_000);

  it("a cursor the change log was pruned past gets a resync; both logs are pruned, never the entries", async () => {
    const namespace = randomId("ns");
    // Pruning every ~0.5 s of rows older than 1 s.
    const { driver } = await openDriver(dialect, "a", namespace, { changeRetention: 1000 });
    const cfg: ConfigDriver = driver.configStore;
    await driver.createGroup("g");
    await driver.join("g", "a", {});
    await cfg.put("s", "k", 1);
    const from = (await cfg.list("s", "")).revision;
    await cfg.put("s", "k", 2);
    const t = tableNames("rollcall_");
    const db = admin(dialect);
    const pruned = async () =>
      BigInt((await db(t.namespaces).where({ name: namespace }).first("pruned"))?.pruned ?? 0);
    await eventually(
      async () => (await pruned()) > from,
      15_000,
      "the change log to be pruned past the cursor",
    );
    if (cfg.changes) {
      expect(await cfg.changes("s", "", from)).toHaveProperty("resync");
    } else {
      // PostgreSQL: a push watch started from there reports it.
      const log = new ChangeLog();
      const handle = await cfg.watch?.("s", "", from, log);
      await eventually(() => log.resyncs.length === 1, 10_000, "the resync");
      await handle?.close();
      expect(log.changes).toEqual([]);
    }
    // One log: the group's cursor from before is past too, and neither table keeps rows below the mark.
    expect(await driver.changes("g", from)).toHaveProperty("resync");
    const mark = await pruned();
    const nsId = (await db(t.namespaces).where({ name: namespace }).first("id"))?.id;
    for (const table of [t.changes, t.configChanges]) {
      const left = await db(table)
        .where({ ns_id: nsId })
        .andWhere("revision", "<=", mark.toString())
        .count("* as n");
      expect(Number(left[0]?.n)).toBe(0);
    }
    // The entries themselves are never pruned.
    expect((await cfg.get("s", "k"))?.value).toBe(2);
    expect((await driver.members("g")).members.map((m) => m.id)).toEqual(["a"]);
  }, 30_000);

  it("migrates a database of schema version 2 in place: groups, members and the change log are kept", async () => {
    const tablePrefix = `${randomId("m").replace(/-/g, "_").slice(0, 20)}_`;
    const tables = tableNames(tablePrefix);
    const namespace = randomId("ns");
    const old = admin(dialect);
    await migrate(old, dialect, tables, 2);
    expect(await old.schema.hasTable(tables.config)).toBe(false);
    // Membership as version 2 wrote it, through the same statements.
    const channel = dialect === "postgresql" ? "rollcall_migration_test" : undefined;
    const v2 = new SqlStore(old, dialect, tables, channel);
    await v2.ensureNamespace(namespace);
    await v2.openSession("00000000-0000-4000-8000-000000000001", "old", 60_000, undefined);
    await v2.createGroup("g");
    const joined = await v2.join("00000000-0000-4000-8000-000000000001", "g", "old", { v: 2 });
    if (dialect === "sqlite") await old.destroy();

    // Three processes of the new version start at once on it: the upgrade runs once, and all of them join.
    const url = withQuery(dbs.urls[dialect], { tablePrefix, namespace });
    const seqs = await Promise.all(["p1", "p2", "p3"].map((id) => joinInProcess(url, id, "upgraded")));
    expect(new Set(seqs).size).toBe(3);
    for (const seq of seqs) expect(seq).toBeGreaterThan(joined.seq);

    const { driver } = await openDriver(dialect, "new", namespace, { tablePrefix });
    const check = dialect === "sqlite" ? admin(dialect) : old;
    expect(Number((await check(tables.schema).where({ id: 1 }).first("version"))?.version)).toBe(
      SCHEMA_VERSION,
    );
    expect((await driver.members("g")).members.map((m) => [m.id, m.seq])).toEqual([["old", joined.seq]]);
    const log = await driver.changes("g", 0n);
    expect("events" in log && log.events.map((e) => e.type)).toEqual(["join"]);
    // The configuration continues the namespace's revision.
    const put: ConfigRecord = await driver.configStore.put("s", "k", 1);
    expect(put.version).toBeGreaterThan(joined.seq);
    await driver.join("g", "new", {});
    expect((await driver.members("g")).members.map((m) => m.id).sort()).toEqual(["new", "old"]);
    // Idempotent: migrating again changes nothing.
    await migrate(check, dialect, tables);
    expect((await driver.configStore.get("s", "k"))?.version).toBe(put.version);
  }, 60_000);
});
