import { RollcallError } from "@rollcall/core";

/** One sample of the Prometheus text format. */
export interface MetricSample {
  /** The sample's name (a histogram's `_bucket`, `_sum` and `_count` are separate names). */
  name: string;
  /** Its labels. */
  labels: Record<string, string>;
  /** Its value (`NaN`, `+Inf`, `-Inf` included). */
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * Parses the Prometheus text exposition format (what `/metrics` serves) into samples, for tests and
 * scripts that check values. Comment lines are skipped; a malformed line is `INVALID_ARGUMENT`.
 */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw malformed(index);
    const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (labelText !== undefined) {
      const inner = labelText.slice(1, -1);
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < inner.length) {
        const label = LABEL.exec(inner);
        if (!label) throw malformed(index);
        labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) =>
          c === "n" ? "\n" : c,
        );
        if (label[3] === "") break;
      }
    }
    const value =
      valueText === "+Inf"
        ? Number.POSITIVE_INFINITY
        : valueText === "-Inf"
          ? Number.NEGATIVE_INFINITY
          : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") throw malformed(index);
    samples.push({ name, labels, value });
  }
  return samples;
}

/**
 * The value of the one sample named `name` whose labels include `labels`; `undefined` when there is
 * none. `INVALID_ARGUMENT` when several match (ask with more labels).
 */
export function sampleValue(
  samples: readonly MetricSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) {
    throw new RollcallError("INVALID_ARGUMENT", `${found.length} samples of ${name} match; give more labels`);
  }
  return found[0]?.value;
}

function malformed(index: number): RollcallError {
  return new RollcallError("INVALID_ARGUMENT", `line ${index + 1} is not in the Prometheus text format`);
}
