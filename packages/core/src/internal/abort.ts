import { RollcallError } from "../errors/rollcall-error.js";

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
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

/** Resolves when the signal aborts (never rejects). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** Races `promise` against `signal`: rejects with the signal's reason when it aborts first. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Settles like `promise`, or rejects with `TIMEOUT` naming `what` once `ms` pass first (the call itself
 * may still complete): for the bounded steps of a driver's `close()` and the like.
 */
export function bounded<T>(promise: Promise<T>, ms: number, what = "the call"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RollcallError("TIMEOUT", `${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A signal that aborts on a deadline or with any of its sources; see {@link linkedSignal}. */
export interface LinkedSignal {
  /** Aborts when a source aborts (with its reason) or when the deadline passes. */
  readonly signal: AbortSignal;
  /** True when it aborted because the deadline passed. */
  readonly timedOut: boolean;
  /** Clears the timer and detaches from the sources; call it once the wait is over. */
  dispose(): void;
}

/**
 * An AbortSignal that aborts when any of `sources` does, or after `ms` (when given) with a
 * `TimeoutError` `DOMException`, like `AbortSignal.timeout()`.
 *
 * Built on a controller and a plain timer rather than `AbortSignal.any([..., AbortSignal.timeout(ms)])`:
 * on Node 20 that composite never aborts once garbage collection has freed the inner timeout signal,
 * because nothing but the composite's weak reference holds it. Here the timer's closure holds the
 * controller strongly until it fires or {@link LinkedSignal.dispose} runs.
 */
export function linkedSignal(sources: (AbortSignal | undefined)[], ms?: number): LinkedSignal {
  const controller = new AbortController();
  const attached: [AbortSignal, () => void][] = [];
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const dispose = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const [source, listener] of attached.splice(0)) source.removeEventListener("abort", listener);
  };
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const listener = () => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener("abort", listener, { once: true });
    attached.push([source, listener]);
  }
  if (controller.signal.aborted) dispose();
  else if (ms !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      dispose();
      controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
    }, ms);
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
  };
}

/** The error used when an operation is abandoned through a caller's signal. */
export function abortError(signal: AbortSignal | undefined, what: string): unknown {
  if (signal?.reason !== undefined) return signal.reason;
  return new RollcallError("TIMEOUT", `${what} was aborted`);
}
