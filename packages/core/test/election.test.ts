import { describe, expect, it } from "vitest";
import { connect, type Leadership } from "../src/index.js";
import { drivers } from "./support/register.js";

let n = 0;
const id = () => `e${++n}`;

describe("elections", () => {
  it("a leader's signal aborts as soon as the session is suspended, before anyone else can lead", async () => {
    const a = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const b = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const la = await a.election("suspend").campaign();
    const pb = b.election("suspend").campaign();
    drivers.get(a.memberId)?.suspend();
    expect(la.signal.aborted).toBe(true);
    expect(la.isValid()).toBe(false);
    expect((la.signal.reason as { code: string }).code).toBe("NOT_LEADER");
    drivers.get(a.memberId)?.expire();
    const lb = await pb;
    expect(lb.electedAt.getTime()).toBeGreaterThanOrEqual(la.validUntil.getTime());
    expect(lb.token > la.token).toBe(true);
    await a.close();
    await b.close();
  });

  it("without renewals, validity runs out at 3/4 of the session timeout and the signal aborts", async () => {
    const a = await connect("testmanual://x?sessionTimeout=400", { memberId: id() });
    const before = Date.now();
    const la = await a.election("lapse").campaign();
    expect(la.isValid()).toBe(true);
    const aborted = new Promise<number>((resolve) =>
      la.signal.addEventListener("abort", () => resolve(Date.now())),
    );
    const at = await aborted;
    expect(la.isValid()).toBe(false);
    expect(at - before).toBeGreaterThanOrEqual(250);
    expect(la.validUntil.getTime()).toBeLessThanOrEqual(at);
    await a.close();
  });

  it("isValid() turns false synchronously once the deadline passed, even before any timer ran", async () => {
    const a = await connect("testmanual://x?sessionTimeout=200", { memberId: id() });
    const la = await a.election("sync").campaign();
    const until = performance.now() + 200;
    while (performance.now() < until) {
      // Busy-wait: no timer or event can run, as in a process frozen past its deadline.
    }
    expect(la.signal.aborted).toBe(false);
    expect(la.isValid()).toBe(false);
    await a.close();
  });

  it("no two leaderships overlap across suspensions, expiries and resignations", async () => {
    const coords = await Promise.all(
      [1, 2, 3].map(() => connect("test://x?sessionTimeout=300&retryInterval=20", { memberId: id() })),
    );
    const intervals: { who: string; token: bigint; start: number; end: number }[] = [];
    const stops: (() => void)[] = [];
    for (const coord of coords) {
      let running = true;
      stops.push(() => {
        running = false;
      });
      void (async () => {
        while (running) {
          let l: Leadership;
          try {
            l = await coord.election("chaos").campaign();
          } catch {
            return;
          }
          const start = l.electedAt.getTime();
          await new Promise<void>((r) =>
            l.signal.aborted ? r() : l.signal.addEventListener("abort", () => r()),
          );
          intervals.push({ who: coord.memberId, token: l.token, start, end: l.validUntil.getTime() });
        }
      })();
    }
    for (let round = 0; round < 12; round++) {
      await new Promise((r) => setTimeout(r, 40));
      const victim = coords[round % coords.length]!;
      const driver = drivers.get(victim.memberId)!;
      if (round % 3 === 0) driver.expire();
      else if (round % 3 === 1) {
        driver.suspend();
        await new Promise((r) => setTimeout(r, 20));
        driver.expire();
      } else {
        driver.suspend();
        driver.resume();
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const stop of stops) stop();
    await Promise.all(coords.map((c) => c.close()));
    intervals.sort((x, y) => x.start - y.start);
    expect(intervals.length).toBeGreaterThan(3);
    for (let i = 1; i < intervals.length; i++) {
      const prev = intervals[i - 1]!;
      const cur = intervals[i]!;
      expect(cur.start, `${cur.who} began before ${prev.who} ended`).toBeGreaterThanOrEqual(prev.end);
    }
  });

  it("a candidate whose session expired while waiting re-enters and is elected later", async () => {
    const a = await connect("test://x?retryInterval=20", { memberId: id() });
    const b = await connect("test://x?retryInterval=20", { memberId: id() });
    const la = await a.election("reenter").campaign();
    const pb = b.election("reenter").campaign();
    drivers.get(b.memberId)?.expire();
    await new Promise((r) => setTimeout(r, 100));
    expect((await a.election("reenter").leaders()).map((m) => m.id)).toEqual([a.memberId]);
    await la.resign();
    const lb = await pb;
    expect(lb.isValid()).toBe(true);
    await a.close();
    await b.close();
  });
});
