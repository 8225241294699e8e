import { afterEach, describe, expect, it } from "vitest";
import { type Coordinator, connect, RollcallError } from "../src/index.js";
import { collectGarbage } from "./support/gc.js";
import { drivers, server } from "./support/register.js";
import type { EagerGoneDriver } from "./support/test-driver.js";

let n = 0;
const id = () => `c${++n}`;
const open: Coordinator[] = [];
async function coordinator(url: string): Promise<Coordinator> {
  const coord = await connect(url, { memberId: id() });
  open.push(coord);
  return coord;
}
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe("candidacy", () => {
  it("never spins when awaitGone reports a predecessor gone that members() still lists", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    const b = await coordinator("testeager://x?sessionTimeout=2000");
    const la = await a.election("spin").campaign();
    const driver = drivers.get(b.memberId) as EagerGoneDriver;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const pb = b.election("spin").campaign();
    await new Promise((r) => setTimeout(r, 400));
    clearInterval(ticker);
    // A spinning candidate lists thousands of times and starves timers; a waiting one backs off.
    expect(driver.membersCalls).toBeLessThan(100);
    expect(ticks).toBeGreaterThan(10);
    await la.resign();
    const lb = await pb;
    expect(lb.token > la.token).toBe(true);
  });

  it("the periodic re-check survives garbage collection (Node 20's AbortSignal.any loses timeouts)", async () => {
    const a = await coordinator("test://x?sessionTimeout=1000");
    const b = await coordinator("testdeaf://x?sessionTimeout=1000");
    const la = await a.election("recheck").campaign();
    const pb = b.election("recheck").campaign();
    // Let b reach its wait on the (deaf) predecessor, then take a's entry away without telling b.
    await new Promise((r) => setTimeout(r, 50));
    const resigned = la.resign();
    await collectGarbage(300);
    await resigned;
    const started = performance.now();
    const lb = await Promise.race([
      pb,
      new Promise<never>((_r, reject) =>
        setTimeout(() => reject(new Error("b was never elected: the re-check timer was lost")), 5000),
      ),
    ]);
    expect(lb.isValid()).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("a candidate that follows the group's feed re-checks periodically: a leave its feed never heard does not block it", async () => {
    // No awaitGone: the candidate waits on the election group's feed.
    const a = await coordinator("test://x?sessionTimeout=1000");
    const b = await coordinator("test://x?sessionTimeout=1000");
    await a.election("unheard").campaign();
    const pb = b.election("unheard").campaign();
    await new Promise((r) => setTimeout(r, 50));
    // a's candidate goes on the server without any event (a notification lost with its connection).
    const [, candidates] = [...server.groups].find(([group]) => group.includes("unheard")) ?? [];
    expect(candidates?.delete(a.memberId)).toBe(true);
    const lb = await Promise.race([
      pb,
      new Promise<never>((_r, reject) =>
        setTimeout(() => reject(new Error("b was never elected: nothing re-checked the feed's view")), 5000),
      ),
    ]);
    expect(lb.isValid()).toBe(true);
  });

  it("a withdrawal whose write failed is retried until the candidate is gone", async () => {
    const a = await coordinator("test://x?sessionTimeout=5000&retryInterval=50");
    const b = await coordinator("test://x?sessionTimeout=5000&retryInterval=50");
    const la = await a.lock("door").acquire();
    const driver = drivers.get(a.memberId);
    if (!driver) throw new Error("no driver");
    driver.failWrites = "before";
    await la.resign(); // the leave fails; the session survives
    expect(la.isValid()).toBe(false);
    const waiting = b.lock("door").acquire({ timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    driver.failWrites = undefined; // the server answers again: the retry removes a's leftover
    const lb = await waiting;
    expect(lb.token > la.token).toBe(true);
    await lb.resign();
  });

  it("a coordinator that campaigns again takes back its own leftover candidate", async () => {
    const a = await coordinator("test://x?sessionTimeout=5000&retryInterval=2000");
    const la = await a.election("again").campaign();
    const driver = drivers.get(a.memberId);
    if (!driver) throw new Error("no driver");
    driver.failWrites = "before";
    await la.resign();
    driver.failWrites = undefined;
    // The background retry waits up to retryInterval; campaigning now must not wait for it.
    const started = performance.now();
    const again = await a.election("again").campaign();
    expect(again.isValid()).toBe(true);
    expect(again.token).toBe(la.token);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("re-entry", () => {
  it("acquire() of a lock this coordinator holds fails at once with ALREADY_HELD naming the lock", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    const held = await a.lock("vault").acquire();
    const started = performance.now();
    const error = await a
      .lock("vault")
      .acquire({ timeout: 2000 })
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(500);
    expect(RollcallError.hasCode(error, "ALREADY_HELD")).toBe(true);
    expect((error as Error).message).toContain("vault");
    const tried = await a
      .lock("vault")
      .tryAcquire()
      .catch((e: unknown) => e);
    expect(RollcallError.hasCode(tried, "ALREADY_HELD")).toBe(true);
    expect(held.isValid()).toBe(true);
    await held.resign();
    const next = await a.lock("vault").acquire({ timeout: 2000 });
    expect(next.token > held.token).toBe(true);
    await next.resign();
  });

  it("a second acquire while the first is still waiting fails at once", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    const b = await coordinator("test://x?sessionTimeout=2000");
    const held = await b.lock("queue").acquire();
    const first = a.lock("queue").acquire();
    const error = await a
      .lock("queue")
      .acquire()
      .catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "ALREADY_HELD")).toBe(true);
    await held.resign();
    const mine = await first;
    expect(mine.isValid()).toBe(true);
    await mine.resign();
  });

  it("campaign() on an election this coordinator leads fails at once with ALREADY_HELD", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    const held = await a.election("boss").campaign();
    const error = await a
      .election("boss")
      .campaign()
      .catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "ALREADY_HELD")).toBe(true);
    expect((error as Error).message).toContain("boss");
    expect(held.isValid()).toBe(true);
  });

  it("a holder that acquires again from its signal's abort listener is not refused", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    const held = await a.lock("relay").acquire();
    const again = new Promise<unknown>((resolve) =>
      held.signal.addEventListener(
        "abort",
        () =>
          resolve(
            a
              .lock("relay")
              .acquire()
              .catch((e) => e),
          ),
        {
          once: true,
        },
      ),
    );
    await held.resign();
    const next = await again;
    expect(RollcallError.isInstance(next)).toBe(false);
    await (next as { resign(): Promise<void> }).resign();
  });
});

describe("writes whose answer was lost", () => {
  it("a retried join and leave succeed, and the error said the outcome is unknown", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    await a.createGroup("lost");
    const driver = drivers.get(a.memberId);
    if (!driver) throw new Error("no driver");
    driver.failWrites = "after";
    const joinError = await a.join("lost").catch((e: unknown) => e);
    expect(RollcallError.hasCode(joinError, "CONNECTION")).toBe(true);
    expect((joinError as Error).message).toContain("outcome is unknown");
    driver.failWrites = undefined;
    const member = await a.join("lost");
    expect((await a.members("lost")).map((m) => m.seq)).toEqual([member.seq]);
    const twice = await a.join("lost").catch((e: unknown) => e);
    expect(RollcallError.hasCode(twice, "MEMBER_EXISTS")).toBe(true);
    driver.failWrites = "after";
    const leaveError = await a.leave("lost").catch((e: unknown) => e);
    expect(RollcallError.hasCode(leaveError, "CONNECTION")).toBe(true);
    driver.failWrites = undefined;
    await a.leave("lost");
    expect(await a.members("lost")).toEqual([]);
    const again = await a.leave("lost").catch((e: unknown) => e);
    expect(RollcallError.hasCode(again, "MEMBER_NOT_JOINED")).toBe(true);
  });

  it("after a leave whose outcome is unknown, a join works whether or not the leave landed, and no re-join brings the member back", async () => {
    const a = await coordinator("test://x?sessionTimeout=2000");
    await a.createGroup("unknown");
    const driver = drivers.get(a.memberId);
    if (!driver) throw new Error("no driver");
    // The leave landed, its answer was lost: the caller sees no member and joins again.
    const first = await a.join("unknown");
    driver.failWrites = "after";
    expect(RollcallError.hasCode(await a.leave("unknown").catch((e: unknown) => e), "CONNECTION")).toBe(true);
    driver.failWrites = undefined;
    expect(await a.members("unknown")).toEqual([]);
    const second = await a.join("unknown");
    expect(second.seq).toBeGreaterThan(first.seq);
    // The leave never reached the server: the join returns the member that is still there.
    driver.failWrites = "before";
    expect(RollcallError.hasCode(await a.leave("unknown").catch((e: unknown) => e), "CONNECTION")).toBe(true);
    driver.failWrites = undefined;
    expect((await a.join("unknown")).seq).toBe(second.seq);
    expect(RollcallError.hasCode(await a.join("unknown").catch((e: unknown) => e), "MEMBER_EXISTS")).toBe(
      true,
    );
    // A leave of unknown outcome, then the session expires: the caller asked to leave, so no re-join.
    driver.failWrites = "before";
    expect(RollcallError.hasCode(await a.leave("unknown").catch((e: unknown) => e), "CONNECTION")).toBe(true);
    driver.failWrites = undefined;
    const rejoined = new Promise<string[]>((resolve) => a.on("rejoined", resolve));
    driver.expire();
    expect(await rejoined).toEqual([]);
    expect(await a.members("unknown")).toEqual([]);
    await a.leave("unknown"); // the retry finds no member: the caller's wish holds
  });
});
