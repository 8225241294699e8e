import { describe, expect, it } from "vitest";
import { type Harness, randomId } from "../harness.js";
import type { ChildMessage, Participant } from "../message-log.js";

export interface Interval {
  memberId: string;
  token: bigint;
  start: number;
  end: number;
}

/** Every leadership interval reported, closed ones with their real end, open ones ending now. */
export function intervals(members: Participant[]): Interval[] {
  const result: Interval[] = [];
  for (const member of members) {
    for (const elected of member.messages.filter((m) => m.type === "elected")) {
      const deposed = member.messages.find((m) => m.type === "deposed" && m.token === elected.token);
      result.push({
        memberId: member.memberId,
        token: BigInt(String(elected.token)),
        start: Number(elected.electedAt),
        // A killed member's leadership ended when it was killed; one still running has not ended.
        end: deposed ? Number(deposed.endedAt) : (member.killedAt ?? Number.POSITIVE_INFINITY),
      });
    }
  }
  return result.sort((a, b) => a.start - b.start);
}

/** Asserts that no two leadership intervals overlap and that tokens grow with time. */
export function assertNoOverlap(all: Interval[]): void {
  for (let i = 1; i < all.length; i++) {
    const previous = all[i - 1] as Interval;
    const current = all[i] as Interval;
    expect(
      current.start >= previous.end,
      `leadership of ${current.memberId} (token ${current.token}) began at ${current.start}, before ${previous.memberId} (token ${previous.token}) stopped at ${previous.end}`,
    ).toBe(true);
    if (current.memberId !== previous.memberId || current.token !== previous.token) {
      expect(current.token >= previous.token).toBe(true);
    }
  }
}

/** Leader `a` elected (its `elected` message is `first`), then candidate `b` queued behind it. */
async function leaderAndCandidate(
  h: Harness,
): Promise<{ a: Participant; b: Participant; first: ChildMessage }> {
  const election = randomId("e");
  const a = h.participant(randomId("lead"), { campaign: { election } }, h.characteristics.scope);
  const first = await a.waitFor((m) => m.type === "elected", h.eventTimeout * 2, "a elected");
  const b = h.participant(randomId("next"), { campaign: { election } }, h.characteristics.scope);
  await b.waitFor((m) => m.type === "campaigning", h.eventTimeout * 2, "b campaigning");
  return { a, b, first };
}

/** Elections with real processes: crash failover, frozen leader, and the no-overlap check. */
export function electionLivenessSuite(h: Harness): void {
  describe("election liveness", () => {
    const long = () => h.detectionBound * 5 + 40_000;

    it(
      "a crashed leader is replaced within the detection bound, with a larger token",
      async () => {
        const { a, b, first } = await leaderAndCandidate(h);
        const killedAt = Date.now();
        await a.kill();
        const second = await b.waitFor(
          (m) => m.type === "elected",
          h.detectionBound + h.eventTimeout,
          "b elected",
        );
        expect(Date.now() - killedAt).toBeLessThanOrEqual(h.detectionBound + h.eventTimeout);
        expect(BigInt(String(second.token)) > BigInt(String(first.token))).toBe(true);
      },
      long(),
    );

    it(
      "a resigning leader hands over promptly and the intervals do not overlap",
      async () => {
        const { a, b } = await leaderAndCandidate(h);
        // a resigns and, as a campaigning member, queues again behind b.
        a.resign();
        await b.waitFor((m) => m.type === "elected", h.eventTimeout, "b elected after a resigned");
        assertNoOverlap(intervals([a, b]));
      },
      long(),
    );

    it(
      "a leader frozen past its timeout stops being leader before its successor is elected",
      async () => {
        const { a, b } = await leaderAndCandidate(h);
        a.freeze();
        await b.waitFor(
          (m) => m.type === "elected",
          h.detectionBound + h.eventTimeout,
          "b elected while a is frozen",
        );
        a.thaw();
        await a.waitFor((m) => m.type === "deposed", h.eventTimeout, "a deposed after thawing");
        // a re-joins after its session expired and queues behind b: b stays the leader.
        await a.waitFor(
          (m) =>
            m.type === "rejoined" ||
            (m.type === "session" && m.state === "connected" && m.previous === "expired"),
          h.eventTimeout + h.detectionBound * 2,
          "a back",
        );
        const all = intervals([a, b]);
        assertNoOverlap(all);
        expect(all.filter((i) => i.end === Number.POSITIVE_INFINITY).map((i) => i.memberId)).toEqual([
          b.memberId,
        ]);
      },
      long(),
    );

    it(
      "two seats: a crashed seat holder is replaced and at most two hold seats at once",
      async () => {
        const election = randomId("e");
        const start = (i: number) =>
          h.participant(randomId(`s${i}`), { campaign: { election, seats: 2 } }, h.characteristics.scope);
        // One after another, so the seats go to first and second whatever order joins commit in.
        const first = start(1);
        await first.waitFor((m) => m.type === "elected", h.eventTimeout * 2, "first elected");
        const second = start(2);
        await second.waitFor((m) => m.type === "elected", h.eventTimeout * 2, "second elected");
        const third = start(3);
        const members = [first, second, third];
        await third.waitFor((m) => m.type === "campaigning", h.eventTimeout * 2, "third campaigning");
        expect(third.messages.some((m) => m.type === "elected")).toBe(false);
        await first.kill();
        await third.waitFor((m) => m.type === "elected", h.detectionBound + h.eventTimeout, "third elected");
        const all = intervals(members);
        for (const interval of all) {
          const concurrent = all.filter((o) => o.start <= interval.start && o.end > interval.start);
          expect(concurrent.length).toBeLessThanOrEqual(2);
        }
      },
      long(),
    );
  });
}
