import { describe, expect, it } from "vitest";
import { reactorSection, renderPage } from "../src/report/page.js";
import type { BenchResults, ScenarioResult } from "../src/results.js";
import { fullRunResults } from "./support/bench-results.js";

function result(
  backend: "redis" | "sqlite" | "zookeeper",
  values: ScenarioResult["values"],
  status: ScenarioResult["status"] = "ok",
  error?: string,
): ScenarioResult {
  return {
    subject: `rollcall/${backend}`,
    kind: "rollcall",
    backend,
    scenario: "reactor",
    status,
    ...(error === undefined ? {} : { error }),
    notes: [],
    settings: { sessionTimeoutMs: 4000 },
    samples: {
      killDefaultMs: [7000, 8000, 9000],
      killDefaultRatio: [1.75, 2, 2.25],
      killDirectMs: [3000, 4000, 5000],
      killDirectRatio: [0.75, 1, 1.25],
      takeoverMs: [1600, 2000],
      takeoverRatio: [0.4, 0.5],
      failoverHandlerMs: [7600, 8000],
      failoverHandlerRatio: [1.9, 2],
    },
    values,
    startedAt: "2026-12-03T00:00:00.000Z",
    durationMs: 1,
  };
}

function results(list: ScenarioResult[]): BenchResults {
  return fullRunResults(list, "pnpm bench --scenario reactor");
}

const clean = {
  sessionTimeoutMs: 4000,
  "kill.kills": 3,
  "kill.ballast": 8,
  "kill.default.missing": 0,
  "kill.default.minRuns": 1,
  "kill.default.maxRuns": 1,
  "kill.default.pendingLeft": 0,
  "kill.default.braked": false,
  "kill.direct.missing": 0,
  "kill.direct.minRuns": 1,
  "kill.direct.maxRuns": 1,
  "kill.direct.pendingLeft": 0,
  "kill.direct.braked": false,
  "failover.trials": 2,
  "failover.graceMs": 8000,
  "failover.noTakeover": 0,
  "failover.beforeGrace": 0,
  "failover.missing": 0,
  "failover.minRuns": 1,
  "failover.maxRuns": 1,
  "failover.byKilled": 0,
  "failover.pendingLeft": 0,
};

const links = { chartHref: "c", resultsHref: "r.json" };

describe("reactorSection()", () => {
  it("shows the default and the no-hold kill, and the failover's takeover beside its handler, as multiples of the timeout", () => {
    const section = reactorSection(results([result("redis", clean)]), links);
    const rows =
      section?.markdown.split("\n").filter((line) => line.startsWith("| rollcall · redis |")) ?? [];
    expect(rows).toEqual([
      "| rollcall · redis | 4.00 s | 8.00 s | 2.00× | 2.25× | 4.00 s | 1.00× | 1.25× | 3 | 1 | 0 |",
      "| rollcall · redis | 8.00 s | 1.80 s | 0.45× | 0.50× | 7.80 s | 1.95× | 2 | 1 | 0 | 0 |",
    ]);
    expect(section?.markdown).toContain(
      "| subject | grace | takeover: median | ÷ timeout | max ÷ timeout | kill → handler: median | ÷ timeout | trials |",
    );
    expect(section?.markdown).toContain("so this is mostly the rest of the grace, not the failover");
    expect(section?.markdown).toContain("8 live members in a process that is never killed");
    expect(Object.keys(section?.charts ?? {})).toEqual(["reactor-kill.svg", "reactor-failover.svg"]);
    expect(section?.charts["reactor-kill.svg"]).toContain("rollcall · redis, brake off, grace 0");
    expect(section?.charts["reactor-failover.svg"]).toContain("rollcall · redis, takeover");
    expect(section?.charts["reactor-failover.svg"]).toContain(
      "rollcall · redis, handler (rest of the grace)",
    );
  });

  it("marks a repeated or missing run, a departure left pending, the brake, a failed part and a skipped backend", () => {
    const section = reactorSection(
      results([
        result("redis", {
          ...clean,
          "kill.direct.maxRuns": 2,
          "kill.direct.missing": 1,
          "kill.default.braked": true,
          "kill.default.pendingLeft": 1,
          "failover.maxRuns": 3,
          "failover.byKilled": 1,
          "failover.noTakeover": 1,
        }),
        result("sqlite", { ...clean, "failover.error": "no reactor process reports acting for failover-x" }),
        result("zookeeper", {}, "skipped", "the zookeeper backend has no configuration store"),
      ]),
      links,
    );
    const markdown = section?.markdown ?? "";
    expect(markdown).toContain("| 3 | 1 / **1 – 2**, **1 never run** (**braked**: default) | **1** |");
    expect(markdown).toContain(
      "| 0.50×, **1 never taken over** | 7.80 s | 1.95× | 2 | **1 – 3** | **1** | 0 |",
    );
    expect(markdown).toContain(
      "| rollcall · sqlite | **failed**: no reactor process reports acting for failover-x |",
    );
    expect(markdown).toContain(
      "| rollcall · zookeeper | 4.00 s | skipped: the zookeeper backend has no configuration store |",
    );
  });

  it("is left out of a run without the scenario, and reads into the page's summary", () => {
    expect(reactorSection(results([]), links)).toBeUndefined();
    const page = renderPage(results([result("redis", clean), result("sqlite", clean)]), links).markdown;
    expect(page).toContain(
      "**Reactor.** After a member's SIGKILL the acting reactor's handler started 2.00× (redis) to 2.00× (sqlite)",
    );
    expect(page).toContain(
      "every departure was handled once and nothing was left pending, on all 2 backends",
    );
    const bad = renderPage(
      results([result("redis", { ...clean, "kill.direct.maxRuns": 2 })]),
      links,
    ).markdown;
    expect(bad).toContain("**not every departure was handled exactly once on redis**");
    expect(bad).toContain("Reactor on redis: a departure after a kill (brake off, grace 0) run 2 times.");
  });
});
