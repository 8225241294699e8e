import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/args.js";
import { planJobs } from "../src/plan.js";
import { partitionSection, renderPage } from "../src/report/page.js";
import type { BenchResults, ScenarioResult } from "../src/results.js";
import { leaderCutSamples, memberCutSamples } from "../src/scenarios/partition-samples.js";
import { FULL } from "../src/settings.js";

describe("memberCutSamples()", () => {
  it("times the leave, suspended and expired from the cut and the rejoin from the heal", () => {
    const cut = memberCutSamples(
      { cutAt: 1000, healAt: 9000, leaveAt: 5000, suspendedAt: 4000, expiredAt: 6000, rejoinAt: 9500 },
      4000,
    );
    expect(cut.samples).toEqual({
      leaveMs: 4000,
      leaveRatio: 1,
      suspendedMs: 3000,
      suspendedRatio: 0.75,
      expiredMs: 5000,
      expiredRatio: 1.25,
      rejoinMs: 500,
    });
    expect(cut.counts).toEqual([]);
  });

  it("tallies an expiry reported only after the heal instead of sampling it, and what was never seen", () => {
    const late = memberCutSamples(
      { cutAt: 0, healAt: 12_000, leaveAt: 4500, suspendedAt: 3000, expiredAt: 12_300, rejoinAt: 13_000 },
      4000,
    );
    expect(late.samples.expiredMs).toBeUndefined();
    expect(late.samples.rejoinMs).toBe(1000);
    expect(late.counts).toEqual(["expiredAfterHeal"]);
    const none = memberCutSamples({ cutAt: 0, healAt: 12_000 }, 4000);
    expect(none.samples).toEqual({});
    expect(none.counts).toEqual(["noLeave", "noSuspended", "noExpired", "noRejoin"]);
  });
});

describe("leaderCutSamples()", () => {
  it("reports the gap from the old leader's abort to the new election", () => {
    const cut = leaderCutSamples({ cutAt: 1000, healAt: 8000, abortedAt: 3000, electedAt: 5000 }, 4000);
    expect(cut.samples).toEqual({
      abortedMs: 2000,
      abortedRatio: 0.5,
      electedMs: 4000,
      electedRatio: 1,
      gapMs: 2000,
    });
    expect(cut.counts).toEqual([]);
  });

  it("tallies two leaders at once (a gap ≤ 0) and what was never seen", () => {
    const overlap = leaderCutSamples({ cutAt: 0, healAt: 9000, abortedAt: 4100, electedAt: 4000 }, 4000);
    expect(overlap.samples.gapMs).toBe(-100);
    expect(overlap.counts).toEqual(["overlap"]);
    const none = leaderCutSamples({ cutAt: 0, healAt: 12_000, abortedAt: 3000 }, 4000);
    expect(none.samples.gapMs).toBeUndefined();
    expect(none.counts).toEqual(["noElection"]);
  });
});

describe("planJobs() for partition", () => {
  it("runs a member and a leader variant in a lab, on the backends with a network, for rollcall only", () => {
    const jobs = planJobs(parseArgs(["--scenario", "partition"]), FULL);
    expect(jobs.every((j) => j.kind === "rollcall" && j.lab === true)).toBe(true);
    expect(jobs.map((j) => `${j.backend}/${j.variant}`)).toEqual(
      ["zookeeper", "etcd", "redis", "postgresql", "mysql"].flatMap((b) => [`${b}/member`, `${b}/leader`]),
    );
  });
});

function result(variant: string, fields: Partial<ScenarioResult>): ScenarioResult {
  return {
    subject: "rollcall/redis",
    kind: "rollcall",
    backend: "redis",
    scenario: "partition",
    variant,
    status: "ok",
    notes: [],
    settings: { sessionTimeoutMs: 4000 },
    samples: {},
    values: { sessionTimeoutMs: 4000 },
    startedAt: "2026-11-21T00:00:00.000Z",
    durationMs: 1,
    ...fields,
  };
}

function results(list: ScenarioResult[]): BenchResults {
  return {
    schema: 1,
    mode: "full",
    startedAt: "2026-11-21T00:00:00.000Z",
    endedAt: "2026-11-21T00:10:00.000Z",
    durationMs: 600_000,
    command: "pnpm bench --scenario partition",
    machine: {
      host: "test",
      cpus: 2,
      memoryBytes: 1,
      loadAverageAtStart: [0, 0, 0],
      loadAverageAtEnd: [0, 0, 0],
    },
    versions: { node: "v20" },
    settings: FULL as unknown as Record<string, unknown>,
    backendFailures: [],
    results: list,
  };
}

const links = { chartHref: "charts", resultsHref: "r.json" };

describe("partitionSection()", () => {
  it("is absent when nothing was partitioned", () => {
    expect(partitionSection(results([]), links)).toBeUndefined();
  });

  it("renders a member table and a leader table with medians, maxima, ratios and tallies", () => {
    const member = result("member", {
      samples: {
        leaveMs: [4000, 6000],
        leaveRatio: [1, 1.5],
        suspendedMs: [3000, 3000],
        suspendedRatio: [0.75, 0.75],
        rejoinMs: [400, 600],
      },
      values: { sessionTimeoutMs: 4000, cuts: 2, expiredAfterHeal: 2 },
    });
    const leader = result("leader", {
      samples: {
        abortedMs: [3000],
        abortedRatio: [0.75],
        electedMs: [4400],
        electedRatio: [1.1],
        gapMs: [1400],
      },
      values: { sessionTimeoutMs: 4000, cuts: 1 },
    });
    const section = partitionSection(results([member, leader]), links);
    expect(section?.markdown).toContain(
      "| rollcall · redis | 4.00 s | 5.00 s (1.25×) | 6.00 s (1.50×) | 3.00 s (0.75×) | 3.00 s (0.75×) | – | – | 500 ms | 600 ms | 2 | expired reported only after the heal: 2 |",
    );
    expect(section?.markdown).toContain(
      "| rollcall · redis | 4.00 s | 3.00 s (0.75×) | 3.00 s (0.75×) | 4.40 s (1.10×) | 4.40 s (1.10×) | 1.40 s | 1.40 s | 1 |  |",
    );
    expect(Object.keys(section?.charts ?? {})).toEqual(["partition-leave.svg"]);
  });

  it("says why a variant did not run, and the page lists a skipped run", () => {
    const skipped = result("member", { status: "skipped", error: "no network lab: network labs need root" });
    const section = partitionSection(results([skipped]), links);
    expect(section?.markdown).toContain(
      "| rollcall · redis | 4.00 s | skipped: no network lab: network labs need root |",
    );
    const page = renderPage(results([skipped]), links).markdown;
    expect(page).toContain(
      "- rollcall · redis (member) — partition: skipped: no network lab: network labs need root",
    );
  });
});
