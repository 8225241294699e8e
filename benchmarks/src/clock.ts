/**
 * Wall-clock time in ms with sub-millisecond resolution. Every process of a run (Node agents, the tooz
 * agent's `time.time()`) stamps events on the same host clock, so stamps from different processes
 * can be subtracted.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms` (core's own delay, shared with the drivers). */
export { delay as sleep } from "@rollcall/core/driver";

/** A random integer in [0, max). */
export function randomInt(max: number): number {
  return Math.floor(Math.random() * max);
}

/** A short random id for namespaces and group names. */
export function randomId(): string {
  return Math.random().toString(36).slice(2, 10);
}
