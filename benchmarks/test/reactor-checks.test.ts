import { describe, expect, it } from "vitest";
import { type HandlerStart, matchReactions, matchTakeovers } from "../src/scenarios/reactor-checks.js";

function start(reactor: string, memberId: string, at: number, seq = 1): HandlerStart {
  return { reactor, memberId, key: `${memberId}@${seq}`, at };
}

describe("matchReactions()", () => {
  it("times each kill to the first handler run for its member, one run per departure", () => {
    const match = matchReactions(
      [
        { memberId: "m-1", at: 1000 },
        { memberId: "m-2", at: 1500 },
      ],
      [start("r-1", "m-2", 5600), start("r-1", "m-1", 5000)],
    );
    expect(match).toEqual({
      delays: [4000, 4100],
      missing: 0,
      runs: [1, 1],
      repeated: 0,
      byKilled: 0,
      keys: 0,
      stray: 0,
    });
  });

  it("counts a kill with no run as missing, a second run as repeated, a run for no kill as stray", () => {
    const match = matchReactions(
      [
        { memberId: "m-1", at: 1000 },
        { memberId: "m-2", at: 1000 },
      ],
      [start("r-1", "m-1", 3000), start("r-2", "m-1", 3500), start("r-1", "m-9", 3000)],
    );
    expect(match.delays).toEqual([2000, undefined]);
    expect(match.missing).toBe(1);
    expect(match.runs).toEqual([2, 0]);
    expect(match.repeated).toBe(1);
    expect(match.stray).toBe(1);
  });

  it("after a failover, measures the survivor's run and counts the killed reactor's apart", () => {
    const match = matchReactions(
      [{ memberId: "m-1", at: 10_000, killedReactor: "r-1" }],
      [start("r-1", "m-1", 9_900), start("r-2", "m-1", 14_000)],
    );
    expect(match.delays).toEqual([4000]);
    expect(match.byKilled).toBe(1);
    expect(match.runs).toEqual([2]);
    expect(match.missing).toBe(0);
  });

  it("does not take a run from before the trigger, and flags one member handled under two keys", () => {
    const early = matchReactions([{ memberId: "m-1", at: 2000 }], [start("r-1", "m-1", 1999)]);
    expect(early.delays).toEqual([undefined]);
    expect(early.missing).toBe(1);
    const twoKeys = matchReactions(
      [{ memberId: "m-1", at: 0 }],
      [start("r-1", "m-1", 10, 1), start("r-1", "m-1", 20, 2)],
    );
    expect(twoKeys.keys).toBe(1);
  });
});

describe("matchTakeovers()", () => {
  it("times each kill of the acting reactor to the first takeover after it by another reactor process", () => {
    const match = matchTakeovers(
      [
        { memberId: "m-1", at: 10_000, killedReactor: "r-1" },
        { memberId: "m-2", at: 30_000, killedReactor: "r-2" },
      ],
      [
        { reactor: "r-1", at: 1_000 },
        { reactor: "r-2", at: 14_500 },
        { reactor: "r-2", at: 16_000 },
        { reactor: "r-3", at: 34_000 },
      ],
    );
    expect(match).toEqual({ delays: [4_500, 4_000], missing: 0 });
  });

  it("takes neither a takeover from before the kill nor the killed reactor's own, and skips kills of members", () => {
    const match = matchTakeovers(
      [
        { memberId: "m-0", at: 500 },
        { memberId: "m-1", at: 10_000, killedReactor: "r-1" },
      ],
      [
        { reactor: "r-2", at: 9_999 },
        { reactor: "r-1", at: 12_000 },
      ],
    );
    expect(match).toEqual({ delays: [undefined], missing: 1 });
  });
});
