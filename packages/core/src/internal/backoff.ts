/** How a {@link backoff} delay grows with the attempt number. */
export interface BackoffOptions {
  /** The delay before the first retry (attempt 0), ms. */
  initial: number;
  /** The largest delay, ms. */
  max: number;
  /** Growth per attempt (default 2: doubling). */
  factor?: number;
  /** Random spread around the delay as a fraction, e.g. `0.2` for ±20 % (default 0: none). */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0 for the first): `initial × factor^attempt`, at most `max`,
 * spread by `jitter` so that many clients that failed together do not retry together. Every retry loop
 * of core and of the drivers takes its waits from here.
 *
 * @example backoff(3, { initial: 100, max: 1000 }) // 800
 */
export function backoff(attempt: number, options: BackoffOptions): number {
  const grown = options.initial * (options.factor ?? 2) ** Math.max(0, attempt);
  const base = Math.min(options.max, Number.isFinite(grown) ? grown : options.max);
  const jitter = options.jitter ?? 0;
  return jitter === 0 ? base : base * (1 - jitter + Math.random() * 2 * jitter);
}
