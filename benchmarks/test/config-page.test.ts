import { describe, expect, it } from "vitest";
import { configSection, renderPage } from "../src/report/page.js";
import type { BenchResults, ScenarioResult } from "../src/results.js";
import { fullRunResults } from "./support/bench-results.js";

function result(
  kind: "rollcall" | "etcd3",
  backend: "etcd" | "redis" | "zookeeper",
  values: ScenarioResult["values"],
  status: ScenarioResult["status"] = "ok",
  error?: string,
): ScenarioResult {
  return {
    subject: `${kind}/${backend}`,
    kind,
    backend,
    scenario: "config",
    status,
    ...(error === undefined ? {} : { error }),
    notes: [],
    settings: { watch: "push (etcd watch)" },
    samples: {
      notifyMs: [2, 3, 4],
      setMs: [1, 1, 1],
      snapshotMs: [40, 50, 60],
      entriesMs: [20, 20, 20],
    },
    values,
    startedAt: "2026-12-03T00:00:00.000Z",
    durationMs: 1,
  };
}

function results(list: ScenarioResult[]): BenchResults {
  return fullRunResults(list, "pnpm bench --scenario config");
}

const ran = {
  "notify.sets": 3,
  "notify.missing": 0,
  "notify.outOfOrder": 0,
  "cas.writers": 10,
  "cas.processes": 10,
  "cas.successes": 500,
  "cas.successesPerSecond": 50,
  "cas.conflictsPerSecond": 200,
  "cas.final": 500,
  "cas.correct": true,
  "cas.errors": 0,
  "cas.fewestWins": 40,
  "cas.mostWins": 60,
  "snapshot.keys": 10_000,
  "snapshot.loadMs": 4000,
};

describe("configSection()", () => {
  it("shows set → watcher, compare-and-set and snapshot rows, the etcd3 client beside rollcall", () => {
    const section = configSection(results([result("etcd3", "etcd", ran), result("rollcall", "etcd", ran)]), {
      chartHref: "c",
      resultsHref: "r.json",
    });
    const lines = section?.markdown.split("\n") ?? [];
    const rows = lines.filter((line) => line.startsWith("| rollcall · etcd |"));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain("| 3.00 ms |");
    expect(rows[0]).toContain("| 3 / 3 | yes |");
    expect(rows[1]).toContain("| 10 in 10 processes | 50.0 | 200 | 40 – 60 | 0 | yes (500) |");
    expect(rows[2]).toContain("| 4.00 s | 50.0 ms (40.0 ms – 60.0 ms) | 20.0 ms (20.0 ms – 20.0 ms) |");
    // rollcall first, then the peer.
    expect(lines.findIndex((l) => l.startsWith("| etcd3 client · etcd |"))).toBeGreaterThan(
      lines.indexOf(rows[0] as string),
    );
    expect(section?.markdown).toContain("tooz has no configuration API");
    expect(Object.keys(section?.charts ?? {})).toEqual(["config-notify.svg", "config-cas.svg"]);
  });

  it("marks a wrong counter, a failed part and a skipped backend", () => {
    const section = configSection(
      results([
        result("rollcall", "redis", {
          ...ran,
          "cas.correct": false,
          "cas.final": 498,
          "snapshot.error": "wrote only 10 of 10000 entries within 150 s",
        }),
        result(
          "rollcall",
          "zookeeper",
          {},
          "skipped",
          'the zookeeper backend has no configuration store (characteristics.config is "none")',
        ),
      ]),
      { chartHref: "c", resultsHref: "r.json" },
    );
    const markdown = section?.markdown ?? "";
    expect(markdown).toContain("| **no**: 498 after 500 wins |");
    expect(markdown).toContain(
      "| rollcall · redis | **failed**: wrote only 10 of 10000 entries within 150 s |",
    );
    expect(markdown).toContain("| rollcall · zookeeper | push (etcd watch) | skipped: the zookeeper backend");
  });

  it("is left out of a run without the scenario, and reads into the page's summary when present", () => {
    expect(configSection(results([]), { chartHref: "c", resultsHref: "r.json" })).toBeUndefined();
    const page = renderPage(results([result("rollcall", "etcd", ran), result("etcd3", "etcd", ran)]), {
      chartHref: "c",
      resultsHref: "r.json",
    });
    expect(page.markdown).toContain(
      "**Configuration.** A set reached a watcher in another process in 3.00 ms",
    );
    expect(page.markdown).toContain("the counter was right on the one backend");
    expect(page.markdown).toContain("against the etcd3 npm client's own get / put / watch");
  });
});
