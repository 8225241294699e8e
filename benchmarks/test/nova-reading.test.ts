import { describe, expect, it } from "vitest";
import type { BackendName } from "../src/args.js";
import { novaPeerClause, renderPage } from "../src/report/page.js";
import { reading } from "../src/report/reading.js";
import type { BenchResults, ScenarioResult } from "../src/results.js";
import { FULL } from "../src/settings.js";
import { fullRunResults } from "./support/bench-results.js";

const MiB = 1024 * 1024;
const DEFAULTS = FULL.nova.defaults.label;
const TUNED = FULL.nova.tuned.label;

/** A steady-cost row: server CPU s/min and requests/s (three equal slices), and the server's size. */
function steady(
  kind: "rollcall" | "nova",
  backend: BackendName,
  variant: string,
  cpu: number,
  perSecond: number,
  processes: number,
  memoryBytes: number,
): ScenarioResult {
  return {
    subject: kind === "nova" ? `nova-db/${backend}` : `rollcall/${backend}`,
    kind,
    backend,
    scenario: "steady",
    variant,
    status: "ok",
    notes: [],
    settings: { members: 1000, sessionTimeoutMs: 4000 },
    samples: { serverCpuPerMinute: [cpu, cpu, cpu], requestsPerSecond: [perSecond, perSecond, perSecond] },
    values: {
      serverProcesses: processes,
      serverMemoryBytes: memoryBytes,
      counter:
        backend === "mysql"
          ? "statements (SHOW GLOBAL STATUS Questions)"
          : backend === "postgresql"
            ? "transactions (pg_stat_database xact_commit + xact_rollback)"
            : "packets received (mntr zk_packets_received, pings included)",
    },
    startedAt: "2026-12-03T00:00:00.000Z",
    durationMs: 1,
  };
}

/** A detect row: measured kills (`detectMs`), or for Nova at its defaults only the computed bound. */
function detect(
  kind: "rollcall" | "nova",
  backend: BackendName,
  detectMs: number[],
  variant?: string,
  bound?: [number, number],
): ScenarioResult {
  return {
    subject: kind === "nova" ? `nova-db/${backend}` : `rollcall/${backend}`,
    kind,
    backend,
    scenario: "detect",
    ...(variant === undefined ? {} : { variant }),
    status: "ok",
    notes: [],
    settings: { sessionTimeoutMs: 4000 },
    samples: { detectMs, detectRatio: detectMs.map((ms) => ms / 4000) },
    values: bound === undefined ? {} : { boundLowMs: bound[0], boundHighMs: bound[1] },
    startedAt: "2026-12-03T00:00:00.000Z",
    durationMs: 1,
  };
}

function results(list: ScenarioResult[]): BenchResults {
  return fullRunResults(list, "pnpm bench --scenario detect,steady --backend zookeeper,postgresql,mysql");
}

/** rollcall on ZooKeeper, PostgreSQL and MariaDB: steady cost (one session per member) and detection. */
const ROLLCALL = [
  steady("rollcall", "zookeeper", "per-member", 9, 4000, 1, 120 * MiB),
  steady("rollcall", "postgresql", "per-member", 25, 2000, 1009, 2200 * MiB),
  steady("rollcall", "mysql", "per-member", 6, 3000, 1, 300 * MiB),
  detect("rollcall", "zookeeper", [3400]),
  detect("rollcall", "postgresql", [3600]),
  detect("rollcall", "mysql", [3800]),
];

/** The Nova heartbeat on one server: steady cost at its defaults and tuned, detection as a bound and measured. */
function nova(
  backend: "postgresql" | "mysql",
  cpu: { defaults: number; tuned: number },
  tunedProcesses: number,
  tunedDetectMs: number,
): ScenarioResult[] {
  return [
    steady("nova", backend, DEFAULTS, cpu.defaults, 100, tunedProcesses, 150 * MiB),
    steady("nova", backend, TUNED, cpu.tuned, 750, tunedProcesses, 170 * MiB),
    detect("nova", backend, [], DEFAULTS, [50_000, 70_000]),
    detect("nova", backend, [tunedDetectMs], TUNED),
  ];
}

const NOVA_PG = nova("postgresql", { defaults: 3, tuned: 20 }, 45, 4100);
const NOVA_MARIADB = nova("mysql", { defaults: 2, tuned: 12 }, 1, 4300);

describe("reading(): the Nova DB heartbeat on each SQL server", () => {
  it("compares rollcall with the heartbeat on the same PostgreSQL and on the same MariaDB", () => {
    const text = reading(results([...ROLLCALL, ...NOVA_PG, ...NOVA_MARIADB]));
    const lines = text.split("\n");
    // At Nova's defaults, per server, against ZooKeeper's cost and detection (bound 50…70 s: 60 s).
    expect(lines).toContain(
      "- At Nova's defaults (report every 10 s, down after 60 s) the DB heartbeat cost PostgreSQL 3.00 CPU-s/min " +
        "(100 transactions/s): the same order as ZooKeeper's 9.00 CPU-s/min (0.33×) for 1,000 sessions at a 4.00 s bound " +
        "— but it detects a crash after 60.00 s (middle of the computed bound) instead of 3.40 s, 17.6× later.",
    );
    expect(lines).toContain(
      "- At Nova's defaults (report every 10 s, down after 60 s) the DB heartbeat cost MariaDB 2.00 CPU-s/min " +
        "(100 statements/s): well below ZooKeeper's 9.00 CPU-s/min (0.22×) for 1,000 sessions at a 4.00 s bound " +
        "— but it detects a crash after 60.00 s (middle of the computed bound) instead of 3.40 s, 17.6× later.",
    );
    // Tuned, per server, against every rollcall backend.
    expect(text).toContain(
      "the DB heartbeat cost PostgreSQL 20.0 CPU-s/min and 750 transactions/s for 1,000 services: " +
        "2.22× zookeeper's, 0.80× postgresql's, 3.33× mysql's server CPU with one rollcall session per member.",
    );
    expect(text).toContain(
      "the DB heartbeat cost MariaDB 12.0 CPU-s/min and 750 statements/s for 1,000 services: " +
        "1.33× zookeeper's, 0.48× postgresql's, 2.00× mysql's server CPU with one rollcall session per member.",
    );
    // The same-server comparisons: CPU as a multiple of the tuned heartbeat's, server size, detection.
    expect(lines).toContain(
      "- On the same PostgreSQL, rollcall's postgresql backend (one session per member) used 25.0 CPU-s/min, " +
        "1.25× the tuned heartbeat's 20.0, with 1,009 server processes (2.1 GiB PSS) against 45 (170.0 MiB); " +
        "rollcall's watchers saw a SIGKILLed member leave after 3.60 s (0.90× the timeout), the tuned heartbeat's " +
        "consumer after 4.10 s (1.02×).",
    );
    expect(lines).toContain(
      "- On the same MariaDB, rollcall's mysql backend (one session per member) used 6.00 CPU-s/min, " +
        "0.50× the tuned heartbeat's 12.0, with 300.0 MiB of server memory (PSS) against 170.0 MiB, one server process " +
        "either way; rollcall's watchers saw a SIGKILLed member leave after 3.80 s (0.95× the timeout), the tuned " +
        "heartbeat's consumer after 4.30 s (1.07×).",
    );
    // Losses: only where rollcall pays more on the same server (PostgreSQL here, not MariaDB).
    expect(lines).toContain(
      "  - rollcall's PostgreSQL backend cost the server more than the tuned Nova heartbeat (25.0 vs 20.0 CPU-s/min).",
    );
    expect(lines).toContain(
      "  - rollcall's PostgreSQL backend kept a connection per coordinator: 1,000 members meant 1,009 PostgreSQL " +
        "processes (2.1 GiB PSS) against 45 for the pooled Nova heartbeat.",
    );
    expect(text).not.toContain("rollcall's MariaDB backend");
    // PostgreSQL's sentences come before MariaDB's, as the page orders backends.
    expect(text.indexOf("On the same PostgreSQL")).toBeLessThan(text.indexOf("cost MariaDB"));
  });

  it("speaks of PostgreSQL only when only PostgreSQL has Nova rows", () => {
    const text = reading(results([...ROLLCALL, ...NOVA_PG]));
    expect(text).toContain("the DB heartbeat cost PostgreSQL 3.00 CPU-s/min");
    expect(text).toContain("the DB heartbeat cost PostgreSQL 20.0 CPU-s/min");
    expect(text).toContain("On the same PostgreSQL, rollcall's postgresql backend");
    expect(text).not.toContain("MariaDB");
  });

  it("speaks of MariaDB only when only MariaDB has Nova rows", () => {
    const text = reading(results([...ROLLCALL, ...NOVA_MARIADB]));
    expect(text).toContain("On the same MariaDB, rollcall's mysql backend");
    expect(text).not.toContain("cost PostgreSQL");
    expect(text).not.toContain("On the same PostgreSQL");
  });

  it("leaves out a same-server sentence without rollcall's rows on that server", () => {
    const text = reading(
      results([...ROLLCALL.filter((r) => r.backend !== "mysql"), ...NOVA_PG, ...NOVA_MARIADB]),
    );
    expect(text).toContain("On the same PostgreSQL");
    expect(text).toContain("the DB heartbeat cost MariaDB 12.0 CPU-s/min");
    expect(text).not.toContain("On the same MariaDB");
  });
});

describe("renderPage(): the intro names the servers the Nova heartbeat ran on", () => {
  const links = { chartHref: "c", resultsHref: "r.json" };
  const intro = (list: ScenarioResult[]) =>
    renderPage(results(list), links)
      .markdown.split("\n")
      .find((line) => line.startsWith("Every rollcall backend")) ?? "";

  it("both servers", () => {
    expect(intro([...ROLLCALL, ...NOVA_PG, ...NOVA_MARIADB])).toContain(
      "next to OpenStack tooz on the same servers and next to the Nova DB heartbeat on the same PostgreSQL and MariaDB servers: how fast",
    );
  });

  it("one server, or none", () => {
    expect(intro([...ROLLCALL, ...NOVA_PG])).toContain(
      "and next to the Nova DB heartbeat on the same PostgreSQL: how fast",
    );
    expect(intro([...ROLLCALL, ...NOVA_MARIADB])).toContain(
      "and next to the Nova DB heartbeat on the same MariaDB: how fast",
    );
    expect(intro(ROLLCALL)).toContain("next to OpenStack tooz on the same servers: how fast");
    expect(novaPeerClause(results(ROLLCALL))).toBe("");
  });
});
