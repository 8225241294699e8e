import { describe, expect, it } from "vitest";
import { casVerdict, matchNotify } from "../src/scenarios/config-checks.js";

describe("matchNotify()", () => {
  it("times each write to the first event with its version", () => {
    const match = matchNotify(
      [
        ["10", 1000, 1002],
        ["11", 1050, 1051],
      ],
      [
        { version: "10", at: 1004 },
        { version: "11", at: 1053.5 },
        { version: "11", at: 1060 },
      ],
    );
    expect(match.latencies).toEqual([4, 3.5]);
    expect(match.missing).toBe(0);
    // The repeated version 11 is not above the one before it.
    expect(match.outOfOrder).toBe(1);
  });

  it("counts writes never reported and versions going back", () => {
    const match = matchNotify(
      [
        ["5", 0, 1],
        ["7", 10, 11],
        ["9", 20, 21],
      ],
      [
        { version: "9", at: 25 },
        { version: "5", at: 26 },
      ],
    );
    expect(match.latencies).toEqual([26, 5]);
    expect(match.missing).toBe(1);
    expect(match.outOfOrder).toBe(1);
  });

  it("compares versions as numbers, not strings", () => {
    expect(
      matchNotify(
        [],
        [
          { version: "9", at: 0 },
          { version: "10", at: 1 },
        ],
      ).outOfOrder,
    ).toBe(0);
  });
});

describe("casVerdict()", () => {
  it("accepts a race in which every value was won once and the counter equals the wins", () => {
    expect(casVerdict([[1, 3, 4], [2], []], 0, 4)).toEqual({
      successes: 4,
      duplicates: 0,
      missing: 0,
      correct: true,
    });
  });

  it("finds an increment won twice", () => {
    const verdict = casVerdict([[1, 2], [2]], 0, 2);
    expect(verdict).toMatchObject({ successes: 3, duplicates: 1, missing: 0, correct: false });
  });

  it("finds a lost update: the counter is ahead of the wins claimed", () => {
    expect(casVerdict([[1], [3]], 0, 3)).toMatchObject({ missing: 1, correct: false });
  });

  it("finds a win above the final value, and counts from the initial value", () => {
    expect(casVerdict([[6, 7]], 5, 6)).toMatchObject({ correct: false });
    expect(casVerdict([[6, 7]], 5, 7).correct).toBe(true);
  });

  it("rejects a final value that is not a number", () => {
    expect(casVerdict([[1]], 0, Number.NaN).correct).toBe(false);
  });
});
