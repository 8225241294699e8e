/**
 * The endurance suite's storm schedule and where its slopes start: a heap that rises once in the
 * first storm cycle passes the long profile, a heap that rises in every cycle (a leak per storm) fails.
 */
import { describe, expect, it } from "vitest";
import { slopePerMinute } from "../src/endurance/process-sampler.js";
import { resolveProfile, slopesFrom, stormSchedule } from "../src/endurance/soak.js";

const long = resolveProfile({ duration: 600_000 });
const storms = ["pause", "kill"];

/** Heap samples every 30 s of a ten-minute run, 122 MB plus `stepMb` after each storm it is told. */
function heapSeries(stepAfter: number[], stepMb: number): { x: number; y: number }[] {
  const points = [];
  for (let at = 30; at <= 600; at += 30) {
    const steps = stepAfter.filter((s) => s < at).length;
    points.push({ x: at, y: 122 + steps * stepMb });
  }
  return points;
}

describe("endurance storm schedule", () => {
  it("runs the storms once, spread after warm-up, in a short run", () => {
    const short = resolveProfile({ duration: 60_000 });
    expect(short.stormCycle).toBe(0);
    expect(stormSchedule(storms, short, 0).map((s) => [s.storm, Math.round(s.at)])).toEqual([
      ["pause", 33_333],
      ["kill", 46_667],
    ]);
    expect(slopesFrom(short, true)).toBe(short.warmup);
  });

  it("repeats whole storm cycles in a long run and starts slopes after the first", () => {
    expect(long.stormCycle).toBe(150_000);
    const at = stormSchedule(storms, long, 0).map((s) => s.at / 1000);
    expect(at).toEqual([110, 160, 260, 310, 410, 460]);
    expect(slopesFrom(long, true)).toBe(210_000);
    expect(slopesFrom(long, false)).toBe(60_000);
  });

  it("passes a heap that rises once in the first cycle and fails one that rises in every cycle", () => {
    const at = stormSchedule(storms, long, 0).map((s) => s.at / 1000);
    const from = slopesFrom(long, true) / 1000;
    const judged = (points: { x: number; y: number }[]) =>
      slopePerMinute(points.filter((p) => p.x >= from)) ?? Number.NaN;
    // Once: 1.6 MB after the first kill (what the etcd cluster's ten-minute run showed).
    expect(judged(heapSeries([at[1] as number], 1.6))).toBeLessThanOrEqual(long.maxHeapSlope);
    // Every kill: 1.6 MB per 150 s cycle.
    expect(judged(heapSeries([at[1], at[3], at[5]] as number[], 1.6))).toBeGreaterThan(long.maxHeapSlope);
  });
});
