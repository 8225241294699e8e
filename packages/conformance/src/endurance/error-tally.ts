import { RollcallError } from "@rollcall/core";

/** Errors of one phase, by operation and code. */
export type ErrorCounts = Record<string, number>;

/**
 * Counts the load's outcomes: successes per operation, and errors per `operation:code`, split between
 * storms (from a storm's start until it has recovered) and calm. An error that is not a
 * `RollcallError` counts under the code `UNTYPED`.
 */
export class ErrorTally {
  readonly ok: Record<string, number> = {};
  readonly calm: ErrorCounts = {};
  readonly storm: ErrorCounts = {};
  /** The first few untyped errors, for the failure message. */
  readonly untyped: string[] = [];
  /** Set while a storm (or its recovery) is under way. */
  inStorm = false;

  success(operation: string): void {
    this.ok[operation] = (this.ok[operation] ?? 0) + 1;
  }

  failure(operation: string, error: unknown): string {
    const code = RollcallError.isInstance(error) ? error.code : "UNTYPED";
    if (code === "UNTYPED" && this.untyped.length < 5) this.untyped.push(`${operation}: ${String(error)}`);
    const key = `${operation}:${code}`;
    const counts = this.inStorm ? this.storm : this.calm;
    counts[key] = (counts[key] ?? 0) + 1;
    return code;
  }

  /** Total operations that succeeded. */
  get successes(): number {
    return Object.values(this.ok).reduce((a, b) => a + b, 0);
  }
}
