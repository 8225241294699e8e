import { type Leadership, RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { eventually, type Harness } from "../harness.js";

async function settled<T>(promise: Promise<T>, ms: number): Promise<"pending" | "settled"> {
  return Promise.race([
    promise.then(
      () => "settled" as const,
      () => "settled" as const,
    ),
    new Promise<"pending">((r) => setTimeout(() => r("pending"), ms)),
  ]);
}

/** Elections and locks, in-process: one leader, hand-over, seats, fencing tokens, observe, locks. */
export function electionsSuite(h: Harness): void {
  describe("elections", () => {
    it(".campaign() elects a lone candidate with a valid leadership and a bigint token", async () => {
      const coord = await h.coordinator();
      const leadership = await coord.election("scheduler").campaign();
      expect(leadership.isValid()).toBe(true);
      expect(leadership.signal.aborted).toBe(false);
      expect(typeof leadership.token).toBe("bigint");
      expect(leadership.validUntil.getTime()).toBeGreaterThan(Date.now());
      expect((await coord.leader("scheduler"))?.id).toBe(coord.memberId);
      await leadership.resign();
      expect(leadership.isValid()).toBe(false);
      expect(leadership.signal.aborted).toBe(true);
      expect(await coord.leader("scheduler")).toBeUndefined();
    });

    it("only one of two candidates leads; .resign() hands over with a larger token", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const first = await a.election("scheduler").campaign();
      const second = b.election("scheduler").campaign();
      expect(await settled(second, 300)).toBe("pending");
      expect((await b.leader("scheduler"))?.id).toBe(a.memberId);
      await first.resign();
      const next = await second;
      expect(next.isValid()).toBe(true);
      expect(next.token > first.token).toBe(true);
      expect(first.isValid()).toBe(false);
      expect((await a.leader("scheduler"))?.id).toBe(b.memberId);
      await next.resign();
    });

    it("closing the leader's coordinator elects the next candidate", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const first = await a.election("scheduler").campaign();
      const second = b.election("scheduler").campaign();
      await a.close();
      expect(first.signal.aborted).toBe(true);
      const next = await second;
      expect(next.token > first.token).toBe(true);
    });

    it("fencing tokens strictly increase across a chain of leaders", async () => {
      const coords = await Promise.all([1, 2, 3, 4].map(() => h.coordinator()));
      // Concurrent campaigns reach the backend in any order: take whichever is elected next.
      const pending = new Map(
        coords.map(
          (c, i) =>
            [
              i,
              c
                .election("chain")
                .campaign()
                .then((l) => ({ l, i })),
            ] as const,
        ),
      );
      const tokens: bigint[] = [];
      while (pending.size > 0) {
        const { l, i } = await Promise.race(pending.values());
        pending.delete(i);
        tokens.push(l.token);
        await l.resign();
      }
      for (let i = 1; i < tokens.length; i++)
        expect((tokens[i] as bigint) > (tokens[i - 1] as bigint)).toBe(true);
    });

    it("seats: N elects the first N candidates, and a freed seat goes to the next", async () => {
      const coords = await Promise.all([1, 2, 3].map(() => h.coordinator()));
      const [a, b, c] = coords as [(typeof coords)[0], (typeof coords)[0], (typeof coords)[0]];
      const la = await a.election("pool", { seats: 2 }).campaign();
      const lb = await b.election("pool", { seats: 2 }).campaign();
      const pc = c.election("pool", { seats: 2 }).campaign();
      expect(await settled(pc, 300)).toBe("pending");
      const holders = await c.election("pool", { seats: 2 }).leaders();
      expect(holders.map((m) => m.id)).toEqual([a.memberId, b.memberId]);
      await la.resign();
      const lc = await pc;
      expect(lc.isValid()).toBe(true);
      expect(lb.isValid()).toBe(true);
      expect((await a.election("pool", { seats: 2 }).leaders()).map((m) => m.id)).toEqual([
        b.memberId,
        c.memberId,
      ]);
      await lb.resign();
      await lc.resign();
    });

    it(".observe() yields the seat holders now and on every change", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const observer = await h.coordinator();
      const seen: string[][] = [];
      const controller = new AbortController();
      const done = (async () => {
        for await (const leaders of observer.election("scheduler").observe({ signal: controller.signal })) {
          seen.push(leaders.map((m) => m.id));
        }
      })();
      await eventually(() => seen.length >= 1, h.eventTimeout, "the first observation");
      expect(seen[0]).toEqual([]);
      const la = await a.election("scheduler").campaign();
      await eventually(() => seen.some((s) => s[0] === a.memberId), h.eventTimeout, "a observed as leader");
      const pb = b.election("scheduler").campaign();
      await la.resign();
      const lb = await pb;
      await eventually(() => seen.some((s) => s[0] === b.memberId), h.eventTimeout, "b observed as leader");
      controller.abort();
      await done;
      await lb.resign();
    });

    it(".campaign({ signal }) withdraws the candidacy when aborted", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const la = await a.election("scheduler").campaign();
      const controller = new AbortController();
      const pb = b.election("scheduler").campaign({ signal: controller.signal });
      controller.abort(new Error("gave up"));
      await expect(pb).rejects.toThrow("gave up");
      await la.resign();
      await eventually(
        async () => (await a.leader("scheduler")) === undefined,
        h.eventTimeout,
        "no leader after b withdrew",
      );
    });
  });

  describe("locks", () => {
    it(".acquire() takes a free lock; .tryAcquire() elsewhere gets undefined; release hands it on", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const held = await a.lock("door").acquire();
      expect(held.isValid()).toBe(true);
      expect(await b.lock("door").tryAcquire()).toBeUndefined();
      const waiting = b.lock("door").acquire();
      expect(await settled(waiting, 300)).toBe("pending");
      await held.resign();
      const next = await waiting;
      expect(next.token > held.token).toBe(true);
      await next.resign();
      const again = await a.lock("door").tryAcquire();
      expect(again?.isValid()).toBe(true);
      await again?.resign();
    });

    it(".acquire({ timeout }) rejects with TIMEOUT and leaves no candidate behind", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const held = await a.lock("door").acquire();
      const error = await b
        .lock("door")
        .acquire({ timeout: 200 })
        .catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "TIMEOUT")).toBe(true);
      await held.resign();
      const c = await h.coordinator();
      const next = await c.lock("door").acquire({ timeout: h.eventTimeout });
      expect(next.isValid()).toBe(true);
      await next.resign();
    });

    it("a lock is not re-entrant: acquiring it again in the holding coordinator fails at once with ALREADY_HELD", async () => {
      const a = await h.coordinator();
      const first = await a.lock("door").acquire();
      const started = performance.now();
      const again = await a
        .lock("door")
        .acquire({ timeout: h.eventTimeout })
        .catch((e: unknown) => e);
      expect(RollcallError.hasCode(again, "ALREADY_HELD")).toBe(true);
      expect(performance.now() - started).toBeLessThan(h.eventTimeout / 2);
      expect(first.isValid()).toBe(true);
      await first.resign();
      const next: Leadership = await a.lock("door").acquire({ timeout: h.eventTimeout });
      expect(next.isValid()).toBe(true);
      expect(next.token > first.token).toBe(true);
      await next.resign();
    });

    it("campaign() in an election this coordinator leads fails at once with ALREADY_HELD", async () => {
      const a = await h.coordinator();
      const lead = await a.election("scheduler").campaign();
      const again = await a
        .election("scheduler")
        .campaign()
        .catch((e: unknown) => e);
      expect(RollcallError.hasCode(again, "ALREADY_HELD")).toBe(true);
      expect(lead.isValid()).toBe(true);
      await lead.resign();
    });

    it("a lock held by a coordinator that closes is released", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      await a.lock("door").acquire();
      const waiting = b.lock("door").acquire();
      await a.close();
      const next = await waiting;
      expect(next.isValid()).toBe(true);
      await next.resign();
    });
  });
}
