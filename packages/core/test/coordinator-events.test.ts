import { describe, expect, it } from "vitest";
import { connect, type LeadershipChange, RollcallError } from "../src/index.js";
import { drivers } from "./support/register.js";

let n = 0;
const id = () => `ev${++n}`;

/** Waits for `check` with a deadline. */
async function until(check: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("coordinator events for metrics and probes", () => {
  it('"renewed" reports the round trip of every renewal the driver reports; off() stops it', async () => {
    const coord = await connect("testmanual://x?sessionTimeout=60000", { memberId: id() });
    const trips: number[] = [];
    const listener = (roundTrip: number) => trips.push(roundTrip);
    coord.on("renewed", listener);
    const driver = drivers.get(coord.memberId);
    const before = performance.now();
    driver?.listener?.renewed(before - 40);
    driver?.listener?.renewed(before - 7);
    expect(trips).toHaveLength(2);
    expect(trips[0]).toBeGreaterThanOrEqual(40);
    expect(trips[1]).toBeGreaterThanOrEqual(7);
    expect(trips[0]).toBeGreaterThan(trips[1] as number);
    // A renewal sent "after now" (clock skew between the driver's stamps) is 0, never negative.
    driver?.listener?.renewed(performance.now() + 1000);
    expect(trips[2]).toBe(0);
    coord.off("renewed", listener);
    driver?.listener?.renewed(performance.now());
    expect(trips).toHaveLength(3);
    await coord.close();
  });

  it('"leadership" reports elected (before campaign() resolves) and ended, with kind, token and reason', async () => {
    const a = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const b = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const seenA: LeadershipChange[] = [];
    const seenB: LeadershipChange[] = [];
    a.on("leadership", (c) => seenA.push(c));
    b.on("leadership", (c) => seenB.push(c));
    const la = await a.election("events").campaign();
    expect(seenA).toEqual([{ kind: "election", name: "events", token: la.token, state: "elected" }]);
    const pb = b.election("events").campaign();
    await la.resign();
    expect(seenA[1]).toEqual({
      kind: "election",
      name: "events",
      token: la.token,
      state: "ended",
      reason: "resigned",
    });
    const lb = await pb;
    expect(seenB).toEqual([{ kind: "election", name: "events", token: lb.token, state: "elected" }]);
    expect(lb.token > la.token).toBe(true);
    expect(seenA).toHaveLength(2);
    await a.close();
    await b.close();
    expect(seenB.at(-1)).toMatchObject({ kind: "election", state: "ended", token: lb.token });
  });

  it("a seat lost to a suspension ends with the reason and is reported again when regained without a new campaign()", async () => {
    const a = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const seen: LeadershipChange[] = [];
    a.on("leadership", (c) => seen.push(c));
    const la = await a.election("regain").campaign();
    drivers.get(a.memberId)?.suspend();
    expect(seen[1]).toMatchObject({ state: "ended", token: la.token });
    expect(seen[1]?.reason).toContain("suspended");
    drivers.get(a.memberId)?.resume();
    await until(() => seen.length === 3, "the seat to be reported again");
    expect(seen[2]).toEqual({ kind: "election", name: "regain", token: la.token, state: "elected" });
    await a.close();
    expect(seen[3]).toMatchObject({ state: "ended", reason: "resigned" });
  });

  it('a lock reports kind "lock" and "lockAcquired" with the time waited; an election of the same name stays apart', async () => {
    const a = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const b = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const seenA: LeadershipChange[] = [];
    const acquiredB: [string, number, bigint][] = [];
    a.on("leadership", (c) => seenA.push(c));
    b.on("lockAcquired", (name, waited, token) => acquiredB.push([name, waited, token]));
    const held = await a.lock("same").acquire();
    const seat = await a.election("same").campaign();
    expect(seenA).toEqual([
      { kind: "lock", name: "same", token: held.token, state: "elected" },
      { kind: "election", name: "same", token: seat.token, state: "elected" },
    ]);
    const asked = performance.now();
    const pending = b.lock("same").acquire();
    await new Promise((r) => setTimeout(r, 60));
    const releasedAt = performance.now();
    await held.resign();
    expect(seenA[2]).toMatchObject({ kind: "lock", state: "ended", token: held.token });
    const heldB = await pending;
    expect(acquiredB).toHaveLength(1);
    const [name, waited, token] = acquiredB[0] as [string, number, bigint];
    expect(name).toBe("same");
    expect(token).toBe(heldB.token);
    expect(waited).toBeGreaterThanOrEqual(releasedAt - asked);
    // tryAcquire reports only when it got the lock.
    const tried = await a.lock("same").tryAcquire();
    expect(tried).toBeUndefined();
    await heldB.resign();
    const c = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const acquiredC: string[] = [];
    c.on("lockAcquired", (lock) => acquiredC.push(lock));
    const got = await c.lock("same").tryAcquire();
    expect(got).toBeDefined();
    expect(acquiredC).toEqual(["same"]);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("an unknown event or a listener that is not a function is INVALID_ARGUMENT", async () => {
    const a = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const bad = a as unknown as { on(event: string, listener: unknown): unknown };
    expect(() => bad.on("renewal", () => {})).toThrow(RollcallError);
    try {
      bad.on("leadership", "nope");
      expect.unreachable();
    } catch (error) {
      expect(RollcallError.hasCode(error, "INVALID_ARGUMENT")).toBe(true);
    }
    await a.close();
  });
});
