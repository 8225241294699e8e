import type { BenchResults, ScenarioResult } from "../../src/results.js";
import { FULL } from "../../src/settings.js";

/** A full run's results file holding `list`, as the report code reads it (for page and reading tests). */
export function fullRunResults(list: ScenarioResult[], command: string): BenchResults {
  return {
    schema: 1,
    mode: "full",
    startedAt: "",
    endedAt: "",
    durationMs: 0,
    command,
    machine: {},
    versions: {},
    settings: FULL as unknown as Record<string, unknown>,
    backendFailures: [],
    results: list,
  };
}
