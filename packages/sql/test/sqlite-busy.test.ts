import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Member, RollcallError } from "@rollcall/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlDriver } from "../src/sql-driver.js";
import { SQLITE_BUSY_DEADLINE, WriteQueue } from "../src/sqlite-busy.js";
import { driverConfig, ListenerLog, randomId } from "./helpers.js";
import { holdWriteLock } from "./write-lock.js";

/** The largest lateness of a 10 ms interval timer (how long the event loop was held up) until stopped. */
function watchEventLoop(): { stop(): number } {
  const period = 10;
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - period);
    last = now;
  }, period);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(worst, performance.now() - last - period);
    },
  };
}

let dir: string;
let file: string;
const drivers: SqlDriver[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rollcall-sqlite-busy-"));
  file = join(dir, "rollcall.db");
});
afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function openDriver(memberId: string, namespace: string, query = "") {
  const driver = new SqlDriver(
    "sqlite",
    driverConfig(`sqlite://${file}${query}`, memberId, namespace, 20_000),
  );
  drivers.push(driver);
  const log = new ListenerLog();
  await driver.open(log, AbortSignal.timeout(10_000));
  return { driver, log };
}

describe("sqlite: another process holds the write lock", () => {
  it("a join is retried without blocking the event loop, and lands once the lock is released", async () => {
    const namespace = randomId("busy");
    const { driver, log } = await openDriver("a", namespace);
    await driver.createGroup("g");
    const lock = await holdWriteLock(file);
    const loop = watchEventLoop();
    let releasedAt = Number.POSITIVE_INFINITY;
    let joinedAt = 0;
    const joining = driver.join("g", "a", { v: 1 }).then(
      (member) => {
        joinedAt = performance.now();
        return member;
      },
      (error: unknown) => error,
    );
    try {
      // Reads carry on meanwhile (WAL): a listing answers while the join waits.
      expect((await driver.members("g")).members).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      releasedAt = await lock.end();
    }
    const outcome = await joining;
    const worstLag = loop.stop();
    if (outcome instanceof Error) throw outcome;
    const member = outcome as Member;
    expect(member.id).toBe("a");
    // It waited for the lock, and got through soon after it was released.
    expect(joinedAt).toBeGreaterThan(releasedAt);
    expect(joinedAt - releasedAt).toBeLessThan(1000);
    expect(worstLag, `the event loop was held up ${Math.round(worstLag)} ms`).toBeLessThan(200);
    expect((await driver.members("g")).members.map((m) => [m.id, m.seq])).toEqual([["a", member.seq]]);
    expect(log.states).toEqual([]);
  }, 30_000);

  it("a lock held past a heartbeat interval suspends the session; released, the same session is connected again", async () => {
    const namespace = randomId("busy");
    // A heartbeat every 250 ms, a long session: the lock outlasts two heartbeats, not the session.
    const { driver, log } = await openDriver("a", namespace, "?heartbeatInterval=250");
    await driver.createGroup("g");
    const joined = await driver.join("g", "a", {});
    const lock = await holdWriteLock(file);
    const loop = watchEventLoop();
    let releasedAt: number;
    let suspendedAfter: number;
    try {
      await log.waitFor("suspended", 2000);
      suspendedAfter = performance.now() - lock.lockedAt;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      releasedAt = await lock.end();
    }
    await log.waitFor("connected", 2000);
    const worstLag = loop.stop();
    expect(log.states).toEqual(["suspended", "connected"]);
    // Two heartbeat intervals at most (the one the lock stops, and the tick that finds it unanswered).
    expect(suspendedAfter).toBeLessThan(2 * 250 + 250);
    expect(worstLag, `the event loop was held up ${Math.round(worstLag)} ms`).toBeLessThan(200);
    // No renewal for a statement sent while the lock was held was reported before it was released.
    const lastBefore = log.renewals.filter((sentAt) => sentAt < lock.lockedAt).length;
    const renewedAfter = log.renewals.slice(lastBefore);
    expect(renewedAfter.length).toBeGreaterThan(0);
    expect(renewedAfter.every((sentAt) => sentAt >= releasedAt - 30)).toBe(true);
    // The same session: the member is still there with its seq.
    expect((await driver.members("g")).members.map((m) => [m.id, m.seq])).toEqual([["a", joined.seq]]);
  }, 30_000);

  it("a call that cannot get the lock before the busy deadline fails with CONNECTION, in bounded time", async () => {
    const namespace = randomId("busy");
    const { driver } = await openDriver("a", namespace);
    const lock = await holdWriteLock(file);
    const loop = watchEventLoop();
    const started = performance.now();
    let error: unknown;
    try {
      await driver.createGroup("g").catch((e: unknown) => {
        error = e;
      });
    } finally {
      await lock.end();
    }
    const took = performance.now() - started;
    const worstLag = loop.stop();
    expect(RollcallError.hasCode(error, "CONNECTION"), String(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/locked/);
    expect(took).toBeGreaterThan(SQLITE_BUSY_DEADLINE - 100);
    expect(took).toBeLessThan(SQLITE_BUSY_DEADLINE + 1000);
    expect(worstLag, `the event loop was held up ${Math.round(worstLag)} ms`).toBeLessThan(200);
    // Nothing half-done: the group can be created now.
    await driver.createGroup("g");
  }, 30_000);
});

describe("WriteQueue", () => {
  const busy = () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

  it("while the database is locked, one write tries it and the others wait; all get through after", async () => {
    const queue = new WriteQueue();
    let locked = true;
    let attempts = 0;
    const attempt = async () => {
      attempts++;
      if (locked) throw busy();
      return "ok";
    };
    const writers = Array.from({ length: 40 }, () => queue.run(attempt));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whileLocked = attempts;
    locked = false;
    expect(await Promise.all(writers)).toEqual(Array(40).fill("ok"));
    // One write tries, once per pause (1–25 ms); the other 39 wait their turn without trying.
    expect(whileLocked).toBeLessThan(60);
    expect(attempts - whileLocked).toBeLessThanOrEqual(41);
  });

  it("runs writes one at a time, in order, heartbeats (urgent) before the writes already waiting", async () => {
    const queue = new WriteQueue();
    const order: string[] = [];
    let inFlight = 0;
    let most = 0;
    const write = (name: string) => async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(name);
      inFlight--;
    };
    await Promise.all([
      queue.run(write("a")),
      queue.run(write("b")),
      queue.run(write("c")),
      queue.run(write("beat"), { urgent: true }),
    ]);
    expect(order).toEqual(["a", "beat", "b", "c"]);
    expect(most).toBe(1);
  });

  it("a queue that never empties still lets timers fire (synchronous writes handed on promise to promise)", async () => {
    const queue = new WriteQueue();
    // Writes answered at once, as better-sqlite3 answers: each writer queues its next write right away.
    const until = performance.now() + 1000;
    let writes = 0;
    const writer = async () => {
      while (performance.now() < until) await queue.run(async () => void writes++);
    };
    let firedAt = Number.POSITIVE_INFINITY;
    const started = performance.now();
    setTimeout(() => {
      firedAt = performance.now();
    }, 10);
    await Promise.all(Array.from({ length: 5 }, writer));
    expect(writes).toBeGreaterThan(100);
    // The timer fired while the writers ran, not once they had stopped a second later.
    expect(firedAt - started).toBeLessThan(until - started);
  });

  it("an error other than busy is not retried; a writer's deadline ends its wait", async () => {
    const queue = new WriteQueue();
    await expect(
      queue.run(async () => {
        throw new Error("constraint");
      }),
    ).rejects.toThrow("constraint");
    const started = performance.now();
    const locked = async () => {
      throw busy();
    };
    const results = await Promise.allSettled([
      queue.run(locked, { deadline: started + 100 }),
      queue.run(locked, { deadline: started + 200 }),
    ]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect(String((result as PromiseRejectedResult).reason)).toMatch(/locked.*gave up/);
      expect((result as PromiseRejectedResult).reason.code).toBe("SQLITE_BUSY");
    }
    expect(performance.now() - started).toBeLessThan(400);
    // Once the database is free again, the queue lets writes straight through.
    expect(await queue.run(async () => 1)).toBe(1);
  });
});
