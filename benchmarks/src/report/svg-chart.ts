/** One bar of a {@link barChart}. */
export interface Bar {
  /** Row label (left column). */
  label: string;
  /** The bar's length (a median); undefined draws `note` instead of a bar. */
  value: number | undefined;
  /** Whisker from `low` to `high` (e.g. p25–p75 or min–max). */
  low?: number;
  high?: number;
  /** Text right of the bar; defaults to the value formatted by the chart's `format`. */
  text?: string;
  /** Shown instead of a bar when there is no value ("failed", "not supported"). */
  note?: string;
  /** Fill colour; defaults to {@link COLORS.rollcall}. */
  color?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  title: string;
  /** Axis caption under the plot, e.g. "ms, log scale". */
  axisLabel: string;
  /** Logarithmic axis (for values spanning decades, such as latencies from 1 ms to 10 s). */
  log?: boolean;
  /** A vertical reference line, e.g. at 1 × sessionTimeout. */
  reference?: { value: number; label: string };
  /** Formats values for tick labels and bar texts. */
  format?: (value: number) => string;
  /** Total width in px (default 760). */
  width?: number;
}

/** Colours of the three kinds of subject, so every chart reads the same. */
export const COLORS = {
  rollcall: "#2f6fb3",
  tooz: "#e08a1e",
  nova: "#c0392b",
  etcd3: "#2e9e6e",
  muted: "#8a8a8a",
} as const;

const ROW = 22;
const TOP = 40;
/** Rough width of a character of the 12 px sans-serif font, to size the label and text columns. */
const CHAR = 6.6;

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** An axis: maps values to x offsets within the plot and lists the ticks. */
export interface Scale {
  x(value: number): number;
  ticks: number[];
  min: number;
  max: number;
}

/** A linear scale from 0 to a round maximum at or above `max`, with 4–6 ticks. */
export function linearScale(max: number, span: number): Scale {
  const top = max > 0 ? max : 1;
  const magnitude = 10 ** Math.floor(Math.log10(top));
  const step = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10]
    .map((m) => m * magnitude)
    .find((s) => top / s <= 5) as number;
  const end = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= end + step / 1e6; t += step) ticks.push(Number(t.toPrecision(12)));
  return { x: (v) => (Math.max(0, Math.min(v, end)) / end) * span, ticks, min: 0, max: end };
}

/** A base-10 logarithmic scale covering [min, max] with a tick at every power of ten. */
export function logScale(min: number, max: number, span: number): Scale {
  const lo = 10 ** Math.floor(Math.log10(min > 0 ? min : 1e-3));
  let hi = 10 ** Math.ceil(Math.log10(max > 0 ? max : 1));
  if (hi <= lo) hi = lo * 10;
  const decades = Math.log10(hi / lo);
  const ticks: number[] = [];
  for (let d = 0; d <= decades + 1e-9; d++) ticks.push(Number((lo * 10 ** d).toPrecision(12)));
  return {
    x: (v) => (Math.log10(Math.max(lo, Math.min(v, hi)) / lo) / decades) * span,
    ticks,
    min: lo,
    max: hi,
  };
}

function defaultFormat(value: number): string {
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 1) return String(Number(value.toPrecision(3)));
  return String(Number(value.toPrecision(2)));
}

/**
 * A horizontal bar chart as a standalone SVG document: one row per bar, with optional whiskers, a
 * linear or logarithmic axis and a reference line. No scripts, no external resources.
 */
export function barChart(bars: readonly Bar[], options: BarChartOptions): string {
  const width = options.width ?? 760;
  const format = options.format ?? defaultFormat;
  const longest = (texts: string[]) => Math.max(0, ...texts.map((s) => s.length));
  const LABEL_WIDTH = Math.min(320, Math.max(120, Math.ceil(longest(bars.map((b) => b.label)) * CHAR) + 16));
  const TEXT_WIDTH = Math.min(
    260,
    Math.max(
      90,
      Math.ceil(longest(bars.map((b) => b.text ?? (b.value === undefined ? "" : format(b.value)))) * CHAR) +
        16,
    ),
  );
  const span = width - LABEL_WIDTH - TEXT_WIDTH;
  const numbers = bars.flatMap((b) => [b.value, b.low, b.high]).filter((v): v is number => v !== undefined);
  if (options.reference) numbers.push(options.reference.value);
  const scale = options.log
    ? logScale(
        Math.min(...numbers.filter((v) => v > 0), Number.POSITIVE_INFINITY),
        Math.max(...numbers, 0),
        span,
      )
    : linearScale(Math.max(...numbers, 0), span);
  const height = TOP + bars.length * ROW + 46;
  const plotBottom = TOP + bars.length * ROW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  for (const tick of scale.ticks) {
    const x = LABEL_WIDTH + scale.x(tick);
    out.push(
      `<line x1="${x.toFixed(1)}" y1="${TOP - 4}" x2="${x.toFixed(1)}" y2="${plotBottom}" stroke="#e3e3e3"/>`,
      `<text x="${x.toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" fill="#555">${escapeXml(format(tick))}</text>`,
    );
  }
  bars.forEach((bar, i) => {
    const y = TOP + i * ROW;
    const color = bar.color ?? COLORS.rollcall;
    out.push(`<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escapeXml(bar.label)}</text>`);
    if (bar.value === undefined) {
      out.push(
        `<text x="${LABEL_WIDTH + 4}" y="${y + 15}" fill="${COLORS.muted}" font-style="italic">${escapeXml(bar.note ?? "no result")}</text>`,
      );
      return;
    }
    const w = Math.max(1, scale.x(bar.value));
    out.push(
      `<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${color}" fill-opacity="0.85"/>`,
    );
    if (bar.low !== undefined && bar.high !== undefined) {
      const x1 = LABEL_WIDTH + scale.x(bar.low);
      const x2 = LABEL_WIDTH + scale.x(bar.high);
      const cy = y + ROW / 2;
      out.push(
        `<line x1="${x1.toFixed(1)}" y1="${cy}" x2="${x2.toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1.2"/>`,
        `<line x1="${x1.toFixed(1)}" y1="${cy - 4}" x2="${x1.toFixed(1)}" y2="${cy + 4}" stroke="#222" stroke-width="1.2"/>`,
        `<line x1="${x2.toFixed(1)}" y1="${cy - 4}" x2="${x2.toFixed(1)}" y2="${cy + 4}" stroke="#222" stroke-width="1.2"/>`,
      );
    }
    out.push(
      `<text x="${LABEL_WIDTH + span + 6}" y="${y + 15}" fill="#222">${escapeXml(bar.text ?? format(bar.value))}</text>`,
    );
  });
  if (options.reference) {
    const x = LABEL_WIDTH + scale.x(options.reference.value);
    out.push(
      `<line x1="${x.toFixed(1)}" y1="${TOP - 6}" x2="${x.toFixed(1)}" y2="${plotBottom}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
      `<text x="${x.toFixed(1)}" y="${TOP - 9}" text-anchor="middle" fill="#c0392b">${escapeXml(options.reference.label)}</text>`,
    );
  }
  out.push(
    `<text x="${LABEL_WIDTH + span / 2}" y="${plotBottom + 32}" text-anchor="middle" fill="#555">${escapeXml(options.axisLabel)}</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
