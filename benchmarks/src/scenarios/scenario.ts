import type { NetworkLab } from "@rollcall/servers";
import type { ScenarioResult } from "../results.js";
import type { BenchSettings } from "../settings.js";
import type { Scope } from "./scope.js";

/** What a scenario function gets: settings, a scope for its agents, and the result to fill in. */
export interface ScenarioContext {
  readonly settings: BenchSettings;
  readonly scope: Scope;
  /** The result being built: add samples, values and notes; the runner sets status and timing. */
  readonly result: ScenarioResult;
  /** A progress line for this run. */
  step(text: string): void;
  /** The network lab the server listens in (lab jobs only: the partition scenario). */
  readonly lab?: NetworkLab;
}

/** Thrown by a scenario when the subject cannot do what it measures. */
export class UnsupportedError extends Error {
  override readonly name = "UnsupportedError";
}

/**
 * Thrown by a scenario when the subject cannot run it here and now, though it could elsewhere or later
 * (no network lab; a backend whose configuration store has not landed): recorded as `skipped`, with the reason.
 */
export class SkippedError extends Error {
  override readonly name = "SkippedError";
}

/** Appends a sample to a metric of a result. */
export function addSample(result: ScenarioResult, metric: string, value: number): void {
  const list = result.samples[metric] ?? [];
  list.push(value);
  result.samples[metric] = list;
}
