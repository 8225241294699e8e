import { eventually } from "@rollcall/conformance";
import { parseUrl } from "@rollcall/core";
import knexFactory, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexConfig, sqliteFilename } from "../src/dialect.js";
import type { Dialect } from "../src/options.js";
import { SqlDriver } from "../src/sql-driver.js";
import {
  type Databases,
  DIALECTS,
  driverConfig,
  ListenerLog,
  randomId,
  startDatabases,
  withQuery,
} from "./helpers.js";

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
  // SQLite: a second connection of this process; only used while no driver is writing.
  const knex = knexFactory(
    dialect === "sqlite" ? { ...config, connection: { filename: sqliteFilename(url) } } : config,
  );
  admins.push(knex);
  return knex;
}

const HOSTILE = [
  "x'); DROP TABLE rollcall_members; --",
  'a"b',
  "a`b",
  "a\\b\\",
  "' OR '1'='1",
  "%_%",
  "$1 ? ?? :name",
  "; SELECT pg_sleep(10); --",
];

describe.each(DIALECTS)("%s driver", (dialect) => {
  it("hostile group names, member ids, namespaces and metadata are data, never SQL", async () => {
    const namespace = `ns'; DROP TABLE rollcall_groups; -- ${randomId("x")}`;
    const other = randomId("other");
    const { driver } = await openDriver(dialect, "a", namespace);
    const { driver: bystander } = await openDriver(dialect, "b", other);
    await bystander.createGroup("kept");
    for (const name of HOSTILE) await driver.createGroup(name);
    expect((await driver.listGroups()).sort()).toEqual([...HOSTILE].sort());
    const metadata = {
      text: "'); DELETE FROM rollcall_members; --",
      nul: "\u0000",
      uni: "名前 🎉",
      nested: { q: "\"`'" },
    };
    for (const name of HOSTILE) {
      const member = await driver.join(name, name, metadata);
      expect(member.id).toBe(name);
    }
    for (const name of HOSTILE) {
      const snapshot = await driver.members(name);
      expect(snapshot.members.map((m) => [m.id, m.group, m.metadata])).toEqual([[name, name, metadata]]);
    }
    // Another namespace is untouched and every table is still there.
    expect(await bystander.listGroups()).toEqual(["kept"]);
    expect((await bystander.members("kept")).members).toEqual([]);
    for (const name of HOSTILE) await driver.leave(name, name);
    for (const name of HOSTILE) await driver.deleteGroup(name);
    expect(await driver.listGroups()).toEqual([]);
  });

  it("a hostile tablePrefix is refused before any SQL runs", () => {
    for (const prefix of ["x; DROP TABLE y", "a-b", "1abc", '"q"', ""]) {
      expect(
        () =>
          new SqlDriver(
            dialect,
            driverConfig(withQuery(dbs.urls[dialect], { tablePrefix: prefix }), "a", "ns"),
          ),
      ).toThrow(/tablePrefix/);
    }
  });

  it("costs one heartbeat statement per interval per coordinator, however many groups it has joined", async () => {
    const namespace = randomId("hb");
    const { driver, log } = await openDriver(dialect, "idle", namespace, {}, 900);
    expect(driver.heartbeatInterval).toBe(300);
    for (let i = 0; i < 25; i++)
      await driver.join(`g${i}`, "idle", {}).catch(async () => {
        await driver.createGroup(`g${i}`);
        await driver.join(`g${i}`, "idle", {});
      });
    const statements = driver.statements;
    const renewals = log.renewals.length;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const beats = log.renewals.length - renewals;
    expect(beats).toBeGreaterThanOrEqual(5);
    // One statement per heartbeat (an in-flight one at either edge of the window may count on one side).
    expect(Math.abs(driver.statements - statements - beats)).toBeLessThanOrEqual(1);
    // renewed(sentAt) came with every heartbeat: the count above. (Its pace is not asserted: on a loaded
    // 2-core machine a timer fires late by hundreds of ms, which is no property of the driver.)
  });

  it("the coordinators of a process share one pool and their heartbeats share statements", async () => {
    const namespace = randomId("pool");
    const opened: Awaited<ReturnType<typeof openDriver>>[] = [];
    // poolSize 3: a pool of its own, apart from the other tests' drivers.
    for (let i = 0; i < 20; i++)
      opened.push(await openDriver(dialect, `m${i}`, namespace, { poolSize: 3 }, 900));
    const pools = new Set(opened.map(({ driver }) => (driver as unknown as { knex: Knex }).knex));
    expect(pools.size).toBe(1);
    const statements = () => opened.reduce((sum, { driver }) => sum + driver.statements, 0);
    const renewals = () => opened.reduce((sum, { log }) => sum + log.renewals.length, 0);
    const [s0, r0] = [statements(), renewals()];
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const [sent, renewed] = [statements() - s0, renewals() - r0];
    expect(renewed).toBeGreaterThanOrEqual(40);
    // A statement per slot (a quarter of the 300 ms interval) at most, whatever the number of sessions.
    expect(sent).toBeLessThanOrEqual(renewed / 3);
    for (const { log } of opened) expect(log.states).not.toContain("expired");
    await Promise.all(opened.map(({ driver }) => driver.close()));
  });

  it("a failure in the middle of a join leaves nothing half-written", async () => {
    const prefix = `t${randomId("f").replace(/-/g, "_")}_`;
    const { driver } = await openDriver(dialect, "ok", "ns", { tablePrefix: prefix });
    await driver.createGroup("g");
    const first = await driver.join("g", "ok", {});
    // Make the change-log insert — the join transaction's last write — fail inside the database.
    const db = admin(dialect);
    const changes = `${prefix}changes`;
    if (dialect === "postgresql") {
      await db.raw(
        `CREATE FUNCTION ${prefix}boom() RETURNS trigger AS $$ BEGIN IF NEW.member_id = 'boom' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await db.raw(
        `CREATE TRIGGER ${prefix}boom BEFORE INSERT ON ${changes} FOR EACH ROW EXECUTE FUNCTION ${prefix}boom()`,
      );
    } else if (dialect === "mysql") {
      await db.raw(
        `CREATE TRIGGER ${prefix}boom BEFORE INSERT ON ${changes} FOR EACH ROW BEGIN IF NEW.member_id = 'boom' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'; END IF; END`,
      );
    } else {
      await db.raw(
        `CREATE TRIGGER ${prefix}boom BEFORE INSERT ON ${changes} WHEN NEW.member_id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`,
      );
    }
    const boom = await openDriver(dialect, "boom", "ns", { tablePrefix: prefix });
    const error = await boom.driver.join("g", "boom", {}).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("CONNECTION");
    expect(String((error as Error).message)).toContain("injected fault");
    // No member row, no change-log row, no revision used: the next join gets the very next seq.
    const snapshot = await driver.members("g");
    expect(snapshot.members.map((m) => m.id)).toEqual(["ok"]);
    expect(snapshot.revision).toBe(first.seq);
    const rows = await db(`${prefix}members`).count({ n: "*" });
    expect(Number(rows[0]?.n)).toBe(1);
    await driver.leave("g", "ok");
    const again = await driver.join("g", "ok", {});
    expect(again.seq).toBe(first.seq + 2n);
  });

  it("changes() on a group that does not exist answers with the log, never GROUP_NOT_FOUND", async () => {
    const namespace = randomId("gone");
    const { driver } = await openDriver(dialect, "a", namespace);
    await driver.createGroup("other");
    const head = (await driver.members("other")).revision;
    const never = await driver.changes("never-created", head);
    expect(never).toEqual({ events: [], revision: head });
    await driver.createGroup("g");
    const start = await driver.members("g");
    await driver.join("g", "a", {});
    await driver.leave("g", "a");
    await driver.deleteGroup("g");
    const batch = await driver.changes("g", start.revision);
    if ("resync" in batch) throw new Error(batch.resync);
    expect(
      batch.events.map((e) =>
        e.type === "leave" ? `leave ${e.memberId} ${e.reason}` : `${e.type} ${e.member.id}`,
      ),
    ).toEqual(["join a", "leave a left"]);
    const after = await driver.changes("g", batch.revision);
    expect(after).toEqual({ events: [], revision: batch.revision });
  });

  it("several reapers write exactly one leave (expired) per member of a dead session", async () => {
    const namespace = randomId("reap");
    const { driver: victim } = await openDriver(dialect, "victim", namespace, {}, 600);
    await victim.createGroup("g1");
    await victim.createGroup("g2");
    await victim.join("g1", "victim", {});
    await victim.join("g2", "victim", {});
    const reapers = await Promise.all(
      [1, 2, 3, 4].map((i) => openDriver(dialect, `r${i}`, namespace, {}, 5000)),
    );
    const start = await reapers[0]!.driver.members("g1");
    // Crash: the victim stops heartbeating (its timers go) without leaving.
    (victim as unknown as { stopSessionTimers(): void }).stopSessionTimers();
    await new Promise((resolve) => setTimeout(resolve, 900));
    // Every reaper notices at once and races to reap.
    const batches = await Promise.all(
      reapers.flatMap(({ driver }) => [
        driver.changes("g1", start.revision),
        driver.changes("g2", start.revision),
      ]),
    );
    for (const batch of batches) {
      if ("resync" in batch) throw new Error(batch.resync);
      expect(batch.events.map((e) => (e.type === "leave" ? `${e.memberId}:${e.reason}` : e.type))).toEqual([
        "victim:expired",
      ]);
    }
    const logged = await admin(dialect)("rollcall_changes")
      .where({ kind: "leave", member_id: "victim" })
      .count({ n: "*" });
    // Only this namespace has a member called victim.
    expect(Number(logged[0]?.n)).toBe(2);
  });

  it("a watching driver reaps sessions that die a moment apart each at its own deadline, not at its next heartbeat", async () => {
    const namespace = randomId("follow");
    // The watcher renews every 10 s: between two of its heartbeats only its reap timer can act.
    const { driver: watcher, log } = await openDriver(dialect, "watcher", namespace, {}, 30_000);
    await watcher.createGroup("g");
    const victims = [];
    for (const id of ["v1", "v2", "v3"]) {
      const { driver } = await openDriver(dialect, id, namespace, {}, 1500);
      await driver.join("g", id, {});
      victims.push(driver);
    }
    // Watching: a feed's change hints (NOTIFY on PostgreSQL, the probe on MySQL, the file on SQLite).
    const handle = { close: watcher.changeHints?.(() => {}) ?? (() => {}) };
    // Right after one of the watcher's heartbeats (it learns the victims' deadlines), the victims die
    // 300 ms apart, so no victim is left to reap another and the watcher's next heartbeat is 10 s away.
    const renewals = log.renewals.length;
    await eventually(() => log.renewals.length > renewals, 15_000, "a heartbeat of the watcher");
    const diedAt = performance.now();
    for (const victim of victims) {
      (victim as unknown as { stopSessionTimers(): void }).stopSessionTimers();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const db = admin(dialect);
    await eventually(
      async () =>
        Number((await db("rollcall_members").where({ member_id: "v3" }).count({ n: "*" }))[0]?.n) === 0,
      8000,
      "the last victim reaped",
    );
    // Each at its deadline (≤ 1.5 s after it died): well before the watcher's next heartbeat.
    expect(performance.now() - diedAt).toBeLessThan(6000);
    expect(
      Number((await db("rollcall_members").whereIn("member_id", ["v1", "v2"]).count({ n: "*" }))[0]?.n),
    ).toBe(0);
    await handle.close();
  });
});

describe("postgresql: awaitGone", () => {
  it("a candidate waiting on a crashed predecessor reaps it at its deadline, not at its own next heartbeat", async () => {
    const namespace = randomId("await");
    // The candidate renews every 10 s and re-checks every 30 s: only its reap timer can be on time.
    const { driver: candidate, log } = await openDriver("postgresql", "candidate", namespace, {}, 30_000);
    await candidate.createGroup("election");
    const { driver: leader } = await openDriver("postgresql", "leader", namespace, {}, 1500);
    await leader.join("election", "leader", {});
    const renewals = log.renewals.length;
    await eventually(() => log.renewals.length > renewals, 15_000, "a heartbeat of the candidate");
    const gone = candidate.awaitGone?.("election", "leader", AbortSignal.timeout(20_000));
    const diedAt = performance.now();
    (leader as unknown as { stopSessionTimers(): void }).stopSessionTimers();
    await gone;
    // Its deadline is at most 1.5 s after it died: well before the candidate's next heartbeat (10 s).
    expect(performance.now() - diedAt).toBeLessThan(6000);
  });
});

describe("postgresql: one LISTEN connection per process", () => {
  it("the change hints of a process's coordinators share it, across namespaces; the last one to close ends it", async () => {
    const db = admin("postgresql");
    const listening = async () =>
      Number(
        (
          await db.raw(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'rollcall' AND query LIKE 'LISTEN rollcall_%' AND state = 'idle'",
          )
        ).rows[0].n,
      );
    const before = await listening();
    const namespaces = [randomId("ls"), randomId("ls")];
    const opened: Awaited<ReturnType<typeof openDriver>>[] = [];
    for (let i = 0; i < 8; i++)
      opened.push(await openDriver("postgresql", `w${i}`, namespaces[i % 2] ?? "", {}, 5000));
    // What each driver's feed would read when hinted about its group: the joins after its start.
    const seen = opened.map(() => new Set<string>());
    const unsubscribes: (() => void)[] = [];
    for (const [i, { driver }] of opened.entries()) {
      await driver.createGroup("g").catch(() => {});
      const { revision } = await driver.members("g");
      const unsubscribe = driver.changeHints?.((topic) => {
        if (topic !== "g") return;
        void driver.changes("g", revision).then((batch) => {
          if ("resync" in batch) return;
          for (const e of batch.events) if (e.type === "join") seen[i]?.add(e.member.id);
        });
      });
      if (unsubscribe === undefined) throw new Error("postgresql gives change hints");
      unsubscribes.push(unsubscribe);
    }
    await eventually(async () => (await listening()) === before + 1, 10_000, "one LISTEN connection");
    // Every driver is still hinted through it, about its own namespace's group.
    await opened[0]?.driver.join("g", "w0", {});
    await opened[1]?.driver.join("g", "w1", {});
    await eventually(() => seen.every((s) => s.size === 1), 10_000, "each driver hinted about its join");
    expect(seen.map((s) => [...s].join())).toEqual(["w0", "w1", "w0", "w1", "w0", "w1", "w0", "w1"]);
    for (const unsubscribe of unsubscribes) unsubscribe();
    await Promise.all(opened.map(({ driver }) => driver.close()));
    await eventually(async () => (await listening()) === before, 10_000, "the LISTEN connection closed");
  });
});
