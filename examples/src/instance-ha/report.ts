import type { ReactorState } from "@rollcall/core";

/** What the example's processes report, one JSON object a line on stdout. */
export type ProcessEvent =
  /** A compute joined `compute`, running these instances. */
  | { event: "up"; instances: string[] }
  /** A compute starts an instance placed on it (Nova's rebuild on the target host). */
  | { event: "rebuilding"; instance: string }
  /** A compute's metadata now lists these instances. */
  | { event: "running"; instances: string[] }
  /** A reactor's state changed. */
  | { event: "state"; state: ReactorState }
  /** The acting reactor's handler started on a departure. */
  | { event: "evacuating"; key: string; from: string; instances: string[]; token: string; attempt: number }
  /** The handler wrote a placement. */
  | { event: "placed"; instance: string; host: string; key: string; token: string }
  /** The handler found the instance already placed (by an earlier run, or a newer actor) and left it. */
  | { event: "kept"; instance: string; host: string; key: string; token: string }
  /** The reactor recorded a departure as handled. */
  | { event: "handled"; key: string; ms: number }
  /** The handler threw; the reactor runs it again later. */
  | { event: "failed"; key: string; attempt: number; retryIn: number; error: string }
  /** The mass-failure brake engaged. */
  | { event: "braked"; departures: number; size: number };

/** A reported event with who reported it and when (`Date.now()`). */
export type Reported = ProcessEvent & { who: string; at: number };

/**
 * Set to `1` in the environment of a process started by the example's driver: the process stops when
 * its stdin closes (the driver is gone), so nothing outlives a killed driver.
 */
export const LIFELINE = "ROLLCALL_EXAMPLE_LIFELINE";

/** A reporter for the process `who`: writes each event as a JSON line on stdout. */
export function reporter(who: string): (event: ProcessEvent) => void {
  return (event) => {
    process.stdout.write(`${JSON.stringify({ ...event, who, at: Date.now() })}\n`);
  };
}
