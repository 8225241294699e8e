/**
 * Wall-clock time in ms with sub-millisecond resolution. Every process of a run (Node agents, the tooz
 * agent's `time.time()`) stamps events on the same host clock, so stamps from different processes
 * can be subtracted.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms`. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A random integer in [0, max). */
export function randomInt(max: number): number {
  return Math.floor(Math.random() * max);
}

/** A short random id for namespaces and group names. */
export function randomId(): string {
  return Math.random().toString(36).slice(2, 10);
}
