#!/usr/bin/env node
// `pnpm soak [--backend a,b] [--minutes N] [--coordinators N] [--out DIR]`: the endurance suite's long
// profile, one backend after another, each against a throwaway real server (the backend's own
// test/endurance*.test.ts). Progress lines stream as the run goes; a JSON report per backend goes to
// DIR (default soak-results/), and a summary table is printed at the end.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

// Every backend's endurance test, the long profile when ROLLCALL_SOAK_MINUTES is set.
const TARGETS = {
  memory: ["packages/memory", "test/endurance.test.ts"],
  etcd: ["packages/etcd", "test/endurance.test.ts"],
  "etcd-cluster": ["packages/etcd", "test/endurance-cluster.test.ts"],
  zookeeper: ["packages/zookeeper", "test/endurance.test.ts"],
  "zookeeper-ensemble": ["packages/zookeeper", "test/endurance-ensemble.test.ts"],
  redis: ["packages/redis", "test/endurance.test.ts"],
  mariadb: ["packages/sql", "test/endurance-mariadb.test.ts"],
  sqlite: ["packages/sql", "test/endurance-sqlite.test.ts"],
  postgresql: ["packages/sql", "test/endurance-postgresql.test.ts"],
};

function usage(message) {
  if (message) process.stderr.write(`soak: ${message}\n`);
  process.stderr.write(
    `usage: pnpm soak [--backend ${Object.keys(TARGETS).join(",")}] [--minutes 10] [--coordinators 40] [--out soak-results]\n`,
  );
  process.exit(message ? 2 : 0);
}

const args = process.argv.slice(2).filter((a) => a !== "--");
const options = {
  backend: Object.keys(TARGETS).join(","),
  minutes: "10",
  coordinators: "40",
  out: "soak-results",
};
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--help" || arg === "-h") usage();
  const [flag, inline] = arg.split("=", 2);
  const key = flag.replace(/^--/, "");
  if (!(key in options) || !flag.startsWith("--")) usage(`unknown argument ${JSON.stringify(arg)}`);
  const value = inline ?? args[++i];
  if (value === undefined) usage(`${flag} needs a value`);
  options[key] = value;
}
const backends = options.backend.split(",").filter(Boolean);
for (const b of backends) if (!(b in TARGETS)) usage(`unknown backend ${JSON.stringify(b)}`);
const minutes = Number(options.minutes);
if (!(minutes > 0 && minutes <= 24 * 60)) usage("--minutes must be a number of minutes > 0 (at most a day)");
const coordinators = Number(options.coordinators);
if (!(Number.isInteger(coordinators) && coordinators > 0 && coordinators <= 1000))
  usage("--coordinators must be an integer from 1 to 1000");

const root = resolve(new URL("..", import.meta.url).pathname);
const out = resolve(options.out);
const failed = [];
for (const backend of backends) {
  const [dir, file] = TARGETS[backend];
  process.stderr.write(`\nsoak: ${backend} for ${minutes} min with ${coordinators} coordinators\n`);
  const run = spawnSync("pnpm", ["exec", "vitest", "run", file], {
    cwd: join(root, dir),
    stdio: "inherit",
    env: {
      ...process.env,
      ROLLCALL_SOAK_MINUTES: String(minutes),
      ROLLCALL_SOAK_COORDINATORS: String(coordinators),
      ROLLCALL_SOAK_REPORT_DIR: out,
    },
  });
  if (run.status !== 0) failed.push(backend);
}

if (existsSync(out)) {
  const rows = readdirSync(out)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(out, f), "utf8")));
  process.stdout.write(
    "\n| backend | minutes | ops/s | heap MB/min | fds/min | storms (recovery ms) | errors in storms | errors in calm |\n",
  );
  process.stdout.write("|---|---|---|---|---|---|---|---|\n");
  const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  for (const r of rows) {
    const storms = r.storms.map((s) => `${s.name}: ${s.recovery ?? "none"}`).join("; ") || "—";
    process.stdout.write(
      `| ${r.name} | ${(r.seconds / 60).toFixed(1)} | ${r.opsPerSecond} | ${r.heapSlope?.toFixed(3) ?? "—"} | ${r.fdSlope?.toFixed(2) ?? "—"} | ${storms} | ${sum(r.stormErrors)} | ${sum(r.calmErrors)} |\n`,
    );
  }
}
if (failed.length > 0) {
  process.stderr.write(`\nsoak: failed: ${failed.join(", ")}\n`);
  process.exit(1);
}
