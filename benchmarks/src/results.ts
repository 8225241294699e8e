import type { BackendName, ScenarioName } from "./args.js";

/**
 * Who is measured: rollcall on a backend, tooz on the same server, the Nova DB heartbeat, or the etcd3 npm
 * client on the same etcd (config scenario).
 */
export type SubjectKind = "rollcall" | "tooz" | "nova" | "etcd3";

/** The outcome of one scenario on one subject. */
export interface ScenarioResult {
  /** `rollcall/zookeeper`, `tooz/redis`, `nova-db/postgresql`, `etcd3/etcd`. */
  subject: string;
  kind: SubjectKind;
  backend: BackendName;
  scenario: ScenarioName;
  /** A second axis where a scenario has one: the steady-cost shape, the Nova settings. */
  variant?: string;
  /**
   * `unsupported`: the subject cannot do this at all; `skipped`: this machine cannot run the scenario
   * (no network lab: not root, no `ip`). The reason is in `error`.
   */
  status: "ok" | "failed" | "unsupported" | "skipped";
  error?: string;
  /** Anything the page should say next to the numbers. */
  notes: string[];
  /** The parameters this result was measured with. */
  settings: Record<string, unknown>;
  /** Raw samples per metric, in the order measured. */
  samples: Record<string, number[]>;
  /** Single values (counts, flags) per metric. */
  values: Record<string, number | string | boolean>;
  startedAt: string;
  durationMs: number;
}

/** Everything one invocation measured, written to benchmarks/results/<date>-<host>.json. */
export interface BenchResults {
  schema: 1;
  mode: "full" | "quick";
  startedAt: string;
  endedAt: string;
  durationMs: number;
  command: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  /** Backends whose server or package could not be brought up, with the reason. */
  backendFailures: { backend: BackendName; error: string }[];
  results: ScenarioResult[];
}
