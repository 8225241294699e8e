import { describe, expect, it } from "vitest";
import { median, quantile, relativeSpread, summarize } from "../src/report/stats.js";

describe("quantile()", () => {
  it("interpolates linearly between ranks", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([0, 100], 0.99)).toBeCloseTo(99);
  });

  it("returns the extremes at 0 and 1 and the only sample of one", () => {
    expect(quantile([3, 5, 9], 0)).toBe(3);
    expect(quantile([3, 5, 9], 1)).toBe(9);
    expect(quantile([7], 0.99)).toBe(7);
  });

  it("rejects no samples and a q outside [0, 1]", () => {
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(() => quantile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summarize()", () => {
  it("sorts, ignores non-finite samples and reports every statistic", () => {
    const s = summarize([5, 1, Number.NaN, 3, Number.POSITIVE_INFINITY, 2, 4]);
    expect(s).toEqual({
      n: 5,
      min: 1,
      max: 5,
      mean: 3,
      median: 3,
      p25: 2,
      p75: 4,
      p90: 4.6,
      p99: expect.any(Number),
    });
    expect(s?.p99).toBeCloseTo(4.96);
  });

  it("is undefined without samples", () => {
    expect(summarize([])).toBeUndefined();
    expect(summarize([Number.NaN])).toBeUndefined();
    expect(median([])).toBeUndefined();
  });

  it("does not reorder the caller's array", () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe("relativeSpread()", () => {
  it("is the interquartile range over the median", () => {
    const s = summarize([8, 9, 10, 11, 12]);
    expect(s && relativeSpread(s)).toBeCloseTo(0.2);
  });

  it("is undefined for a zero median", () => {
    const s = summarize([0, 0, 0]);
    expect(s && relativeSpread(s)).toBeUndefined();
  });
});
