import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue } from "../src/index.js";

describe("parsePrometheusText", () => {
  it("reads what prom-client writes: labels with escapes, histograms, +Inf", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: "c_total", help: "h", labelNames: ["g"], registers: [registry] });
    counter.inc({ g: 'we"ird\\na\nme' }, 3);
    const histogram = new Histogram({
      name: "h_seconds",
      help: "h",
      buckets: [0.1, 1],
      registers: [registry],
    });
    histogram.observe(0.5);
    const samples = parsePrometheusText(await registry.metrics());
    expect(sampleValue(samples, "c_total", { g: 'we"ird\\na\nme' })).toBe(3);
    expect(sampleValue(samples, "h_seconds_bucket", { le: "0.1" })).toBe(0);
    expect(sampleValue(samples, "h_seconds_bucket", { le: "1" })).toBe(1);
    expect(sampleValue(samples, "h_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(sampleValue(samples, "h_seconds_sum")).toBe(0.5);
    expect(() => sampleValue(samples, "h_seconds_bucket")).toThrow(/give more labels/);
    expect(parsePrometheusText("x +Inf\ny NaN 123\n")[0]?.value).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses a malformed line", () => {
    expect(() => parsePrometheusText("metric{a=b} 1")).toThrow(/line 1/);
    expect(() => parsePrometheusText("# ok\nmetric one")).toThrow(/line 2/);
  });
});
