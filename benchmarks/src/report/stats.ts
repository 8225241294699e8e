/** What the page reports of a set of samples. */
export interface Summary {
  /** Number of samples. */
  n: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  /** First and third quartile: the spread the page quotes next to a median. */
  p25: number;
  p75: number;
  p90: number;
  /** 99th percentile; with fewer than 100 samples it lies between the two largest. */
  p99: number;
}

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of an ascending array, interpolating linearly between the two nearest
 * ranks (the method of R's default type 7, numpy's `linear`).
 * @throws RangeError for an empty array or a q outside [0, 1]
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of no samples");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in [0, 1]`);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (position - below);
}

/** The summary of the finite samples, or undefined when there is none. */
export function summarize(samples: readonly number[]): Summary | undefined {
  const sorted = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: sum / sorted.length,
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
  };
}

/** Median of the finite samples, or undefined. */
export function median(samples: readonly number[]): number | undefined {
  return summarize(samples)?.median;
}

/**
 * The relative spread of a summary: (p75 − p25) / median, the interquartile range as a fraction of
 * the median. Undefined when the median is 0.
 */
export function relativeSpread(summary: Summary): number | undefined {
  return summary.median === 0 ? undefined : (summary.p75 - summary.p25) / Math.abs(summary.median);
}
