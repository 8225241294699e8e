/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** First pause between attempts; doubles up to `maxIntervalMs`. Default 10. */
  intervalMs?: number;
  /** Longest pause between attempts. Default 50. */
  maxIntervalMs?: number;
  /** Stop polling early when this returns a reason (such as "the process exited"). */
  abort?: () => string | undefined;
}

/** Why {@link pollUntil} gave up. */
export class PollError extends Error {
  /** True when the deadline passed, false when `abort` stopped the polling. */
  readonly timedOut: boolean;

  /**
   * @param message - the reason.
   * @param timedOut - whether the deadline passed.
   */
  constructor(message: string, timedOut: boolean) {
    super(message);
    this.name = "PollError";
    this.timedOut = timedOut;
  }
}

/**
 * Call `check` until it returns a value other than undefined (or false), with a deadline.
 * Exceptions from `check` count as "not yet".
 *
 * @throws {@link PollError} on timeout or abort.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | false>,
  options: PollOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 10;
  const maxInterval = options.maxIntervalMs ?? 50;
  for (;;) {
    const reason = options.abort?.();
    if (reason !== undefined) throw new PollError(reason, false);
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch {
      // not ready yet
    }
    const reasonAfter = options.abort?.();
    if (reasonAfter !== undefined) throw new PollError(reasonAfter, false);
    const left = deadline - Date.now();
    if (left <= 0) throw new PollError(`not ready within ${options.timeoutMs} ms`, true);
    await sleep(Math.min(interval, left));
    interval = Math.min(interval * 2, maxInterval);
  }
}
