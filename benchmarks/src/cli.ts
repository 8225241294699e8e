#!/usr/bin/env node
/**
 * `pnpm bench` / `pnpm bench:quick`: runs the scenarios on every backend and its peers, writes
 * benchmarks/results/<date>-<host>.json and regenerates docs/benchmarks.md (see --help).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, loadavg } from "node:os";
import { join } from "node:path";
import { killAllAgents } from "./agents/child-agent.js";
import { BACKENDS, type BenchArgs, PEERS, parseArgs, SCENARIOS, USAGE, UsageError } from "./args.js";
import { machineInfo, versions } from "./machine.js";
import { PACKAGE_DIR, REPO_DIR } from "./paths.js";
import { planJobs } from "./plan.js";
import { Progress } from "./progress.js";
import { writeReport } from "./report/write-report.js";
import type { BenchResults } from "./results.js";
import { runAll } from "./runner.js";
import { FULL, QUICK } from "./settings.js";

function resultsName(args: BenchArgs, started: Date): string {
  const date = started.toISOString().slice(0, 10);
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, "_");
  const filtered =
    args.backends.length < BACKENDS.length ||
    args.scenarios.length < SCENARIOS.length ||
    args.peers.length < PEERS.length;
  return `${date}-${host}${args.quick ? "-quick" : ""}${filtered ? "-partial" : ""}`;
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.render) {
    const results = JSON.parse(readFileSync(args.render, "utf8")) as BenchResults;
    const page = writeReport(results, args.docs ? "docs" : "beside", args.render.replace(/\.json$/, ""));
    process.stderr.write(`wrote ${page}\n`);
    return 0;
  }
  const preset = args.quick ? QUICK : FULL;
  const settings = { ...preset, tooz: { ...preset.tooz, intervalMs: args.toozInterval } };
  const started = new Date();
  const jobs = planJobs(args, settings);
  const progress = new Progress(jobs.length);
  progress.info(
    `rollcall benchmarks (${settings.mode}): ${jobs.length} scenario runs on ${args.backends.join(", ")}; peers: ${args.peers.join(", ") || "none"}`,
  );
  const machine = machineInfo();
  const outcome = await runAll(args, settings, progress);
  const ended = new Date();
  const results: BenchResults = {
    schema: 1,
    mode: settings.mode,
    startedAt: started.toISOString(),
    endedAt: ended.toISOString(),
    durationMs: ended.getTime() - started.getTime(),
    command: `pnpm bench ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { ...machine, loadAverageAtEnd: loadavg() },
    versions: {
      ...versions(),
      ...Object.fromEntries(Object.entries(outcome.servers).map(([k, v]) => [`server:${k}`, v])),
    },
    settings: settings as unknown as Record<string, unknown>,
    backendFailures: outcome.backendFailures,
    results: outcome.results,
  };
  const dir = join(PACKAGE_DIR, "results");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, resultsName(args, started));
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 1)}\n`);
  progress.info(`wrote ${base}.json`);
  const page = writeReport(results, args.docs ? "docs" : "beside", base);
  progress.info(
    `wrote ${page}${args.docs ? "" : ` (docs/benchmarks.md is regenerated only by a full, unfiltered run; see ${REPO_DIR}docs)`}`,
  );
  const failed = results.results.filter((r) => r.status === "failed").length;
  progress.info(
    `finished in ${Math.round(results.durationMs / 1000)} s: ${results.results.length - failed} ok, unsupported or skipped, ${failed} failed`,
  );
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killAllAgents();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    killAllAgents();
    process.exit(1);
  },
);
