import { describe, expect, it } from "vitest";
import { serveSection } from "../src/report/page.js";
import type { BenchResults, ScenarioResult } from "../src/results.js";
import { fullRunResults } from "./support/bench-results.js";

function result(
  backend: "redis" | "sqlite",
  samples: Record<string, number[]>,
  values: ScenarioResult["values"],
): ScenarioResult {
  return {
    subject: `rollcall/${backend}`,
    kind: "rollcall",
    backend,
    scenario: "serve",
    status: "ok",
    notes: [],
    settings: {},
    samples,
    values,
    startedAt: "2026-12-02T00:00:00.000Z",
    durationMs: 1,
  };
}

function results(list: ScenarioResult[]): BenchResults {
  return fullRunResults(list, "pnpm bench --scenario serve");
}

const churn = {
  "churn.eventsSeen": 900,
  "churn.changes": 1000,
  "churn.lagMedianMs": 12,
  "churn.lagP99Ms": 250,
  "churn.drops": 0,
  "churn.equal": true,
  "churn.modelSize": 26,
  "churn.membersSize": 26,
  "churn.settleMs": 40,
  "churn.keptUp": true,
};

describe("serveSection()", () => {
  it("shows the server's cost without and with serve, and their difference", () => {
    const section = serveSection(
      results([
        result(
          "redis",
          {
            "without.serverCpuPerMinute": [4, 4, 4],
            "with.serverCpuPerMinute": [5, 5, 5],
            "without.requestsPerSecond": [6000, 6000, 6000],
            "with.requestsPerSecond": [6030, 6030, 6030],
            "with.serveCpuPerMinute": [1.5, 1.5, 1.5],
          },
          { ...churn, "with.serveRssBytes": 80 * 1024 * 1024 },
        ),
      ]),
    );
    const row = section?.markdown.split("\n").find((line) => line.startsWith("| rollcall · redis | 4.00"));
    expect(row).toContain("| +1.00 (+25 %) |");
    expect(row).toContain("| +30.0 (+1 %) |");
    expect(row).toContain("| 80.0 MiB |");
    expect(section?.markdown).toContain("| 900 / 1,000 | 12.0 ms / 250 ms |");
  });

  it("says SQLite has no server, and marks a stream that did not keep up", () => {
    const section = serveSection(
      results([
        result(
          "sqlite",
          { "with.serveCpuPerMinute": [1, 1, 1] },
          { ...churn, "churn.equal": false, "churn.drops": 2, "churn.keptUp": false },
        ),
      ]),
    );
    expect(section?.markdown).toContain("| rollcall · sqlite | no server (a file) |");
    expect(section?.markdown).toMatch(/\| 2 \| \*\*no\*\* \(26 \/ 26\) \| 40\.0 ms \| \*\*no\*\* \|/);
  });

  it("is left out of a run without the scenario", () => {
    expect(serveSection(results([]))).toBeUndefined();
  });
});
