import { describe, expect, it } from "vitest";
import { barChart, COLORS, escapeXml, linearScale, logScale } from "../src/report/svg-chart.js";

describe("linearScale()", () => {
  it("rounds the maximum up to a tick and maps values onto the span", () => {
    const s = linearScale(87, 100);
    expect(s.max).toBe(100);
    expect(s.ticks).toEqual([0, 20, 40, 60, 80, 100]);
    expect(s.x(50)).toBe(50);
    expect(s.x(-5)).toBe(0);
    expect(s.x(500)).toBe(100);
  });

  it("copes with small and zero maxima", () => {
    expect(linearScale(1.3, 10).ticks).toEqual([0, 0.5, 1, 1.5]);
    expect(linearScale(0, 10).max).toBe(1);
  });
});

describe("logScale()", () => {
  it("covers whole decades with a tick at each power of ten", () => {
    const s = logScale(0.3, 4200, 400);
    expect(s.ticks).toEqual([0.1, 1, 10, 100, 1000, 10000]);
    expect(s.x(0.1)).toBe(0);
    expect(s.x(10000)).toBe(400);
    expect(s.x(100)).toBeCloseTo(240);
  });

  it("spans at least one decade", () => {
    expect(logScale(5, 5, 100).ticks).toEqual([1, 10]);
  });
});

describe("escapeXml()", () => {
  it("escapes markup characters", () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  });
});

describe("barChart()", () => {
  const svg = barChart(
    [
      { label: "rollcall · zookeeper", value: 6, low: 4, high: 9, text: "6 ms" },
      { label: "tooz · zookeeper", value: 500, color: COLORS.tooz },
      { label: "tooz · etcd", value: undefined, note: "not supported" },
    ],
    {
      title: "notify <join>",
      axisLabel: "ms, log scale",
      log: true,
      reference: { value: 100, label: "poll" },
    },
  );

  it("is a standalone SVG document with the title escaped", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("notify &lt;join&gt;");
    expect(svg).not.toContain("<script");
  });

  it("draws one bar per value, whiskers where given, and the note instead of a missing bar", () => {
    expect(svg.match(/<rect /g)).toHaveLength(3); // background + 2 bars
    expect(svg).toContain(`fill="${COLORS.tooz}"`);
    expect(svg).toContain(">6 ms<");
    expect(svg).toContain(">not supported<");
    expect(svg.match(/stroke="#222"/g)).toHaveLength(3); // one whisker: line + 2 caps
  });

  it("has a height that grows with the rows and a reference line", () => {
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    expect(height).toBe(40 + 3 * 22 + 46);
    expect(svg).toContain('stroke-dasharray="4 3"');
    expect(svg).toContain(">poll<");
  });

  it("draws a linear chart when no bar has a value", () => {
    const empty = barChart([{ label: "x", value: undefined }], { title: "t", axisLabel: "a" });
    expect(empty).toContain(">no result<");
  });
});
