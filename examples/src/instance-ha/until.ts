/** Subscribes `wake` to something that changes; returns the unsubscribe. */
export type ChangeSource = (wake: () => void) => () => void;

/** A {@link ChangeSource} for anything with `on("change")` / `off("change")` (a group or configuration view). */
export function changesOf(emitter: {
  on(event: "change", listener: () => void): unknown;
  off(event: "change", listener: () => void): unknown;
}): ChangeSource {
  return (wake) => {
    emitter.on("change", wake);
    return () => emitter.off("change", wake);
  };
}

/**
 * Resolves once `check()` is true, re-checking each time a source reports a change; rejects after
 * `timeoutMs` (naming `what`), when `check` throws, or when `signal` aborts. No polling.
 */
export function until(
  what: string,
  check: () => boolean,
  sources: ChangeSource[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const unsubscribe: (() => void)[] = [];
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      for (const off of unsubscribe.splice(0)) off();
      if (error === undefined) resolve();
      else reject(error);
    };
    const evaluate = () => {
      try {
        if (check()) finish();
      } catch (error) {
        finish(error);
      }
    };
    const aborted = () => finish(signal?.reason ?? new Error(`aborted while waiting for ${what}`));
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    if (signal?.aborted) return aborted();
    signal?.addEventListener("abort", aborted, { once: true });
    for (const source of sources) unsubscribe.push(source(evaluate));
    evaluate();
  });
}
