import type { BackendName, BenchArgs, ScenarioName } from "./args.js";
import type { SubjectKind } from "./results.js";
import type { BenchSettings, NovaSettings } from "./settings.js";
import { toozDriverName } from "./subjects.js";

/** One scenario run on one subject (and variant): the unit the progress counts and the results list. */
export interface Job {
  backend: BackendName;
  kind: SubjectKind;
  scenario: ScenarioName;
  variant?: string;
  /** For Nova jobs: which settings. */
  nova?: NovaSettings;
  /** For steady jobs: which shape. */
  shape?: "per-member" | "shared";
  /** Whether the job needs its server in a network lab (started on the lab's gateway address). */
  lab?: boolean;
}

/** The backends the etcd3 npm client is run on beside rollcall, in the config scenario: etcd. */
export const ETCD3_BACKENDS: readonly BackendName[] = ["etcd"];

/** The backends the Nova DB heartbeat is run on beside rollcall, in detect and steady: PostgreSQL and MySQL. */
export const NOVA_BACKENDS: readonly BackendName[] = ["postgresql", "mysql"];

/** The subject id of a job, as results and the page name it. */
export function subjectId(job: Pick<Job, "kind" | "backend">): string {
  return job.kind === "nova" ? `nova-db/${job.backend}` : `${job.kind}/${job.backend}`;
}

const PEER_SCENARIOS: readonly ScenarioName[] = ["notify", "detect", "failover", "churn"];

/**
 * The backends a partition can be measured on: those with a server reached over the network (memory:// is
 * in-process, SQLite a local file).
 */
export const PARTITION_BACKENDS: readonly BackendName[] = [
  "zookeeper",
  "etcd",
  "redis",
  "postgresql",
  "mysql",
];

/**
 * The backends `rollcall serve` can be measured on: a separate process must reach the same store, so not
 * memory:// (in-process). SQLite's "server" is its file: there the serve scenario has no server to
 * measure, only the serve process's own cost and its event stream under churn.
 */
export const SERVE_BACKENDS: readonly BackendName[] = [...PARTITION_BACKENDS, "sqlite"];

/** The partition scenario's variants: a cut-off member, a cut-off leader. */
export const PARTITION_VARIANTS = ["member", "leader"] as const;
export type PartitionVariant = (typeof PARTITION_VARIANTS)[number];

/** Every job of an invocation, in the order they run (backend by backend, so each server starts once). */
export function planJobs(
  args: Pick<BenchArgs, "backends" | "scenarios" | "peers">,
  settings: BenchSettings,
): Job[] {
  const jobs: Job[] = [];
  for (const backend of args.backends) {
    const tooz =
      args.peers.includes("tooz") &&
      toozDriverName(backend) !== undefined &&
      (settings.tooz.backends as readonly string[]).includes(backend);
    const nova = args.peers.includes("nova") && NOVA_BACKENDS.includes(backend);
    for (const scenario of args.scenarios) {
      if (scenario === "partition") {
        // Rollcall only: the peers' agents have no session states to report; not applicable without a network.
        if (PARTITION_BACKENDS.includes(backend)) {
          for (const variant of PARTITION_VARIANTS)
            jobs.push({ backend, kind: "rollcall", scenario, variant, lab: true });
        }
        continue;
      }
      if (scenario === "serve") {
        // Rollcall only: it measures rollcall's own dashboard.
        if (SERVE_BACKENDS.includes(backend)) jobs.push({ backend, kind: "rollcall", scenario });
        continue;
      }
      if (scenario === "config") {
        // Every backend (one that still has no configuration store is recorded as skipped); etcd3's own
        // client beside rollcall on etcd. tooz has no configuration API.
        jobs.push({ backend, kind: "rollcall", scenario });
        if (args.peers.includes("etcd3") && ETCD3_BACKENDS.includes(backend))
          jobs.push({ backend, kind: "etcd3", scenario });
        continue;
      }
      if (scenario === "reactor") {
        // Rollcall only: no peer has a reactor. Every backend (memory:// with in-process agents).
        jobs.push({ backend, kind: "rollcall", scenario });
        continue;
      }
      if (scenario === "steady") {
        for (const shape of settings.steady.shapes)
          jobs.push({ backend, kind: "rollcall", scenario, variant: shape, shape });
      } else {
        jobs.push({ backend, kind: "rollcall", scenario });
      }
      if (tooz && PEER_SCENARIOS.includes(scenario)) jobs.push({ backend, kind: "tooz", scenario });
      if (nova && (scenario === "detect" || scenario === "steady")) {
        for (const n of [settings.nova.defaults, settings.nova.tuned]) {
          if (scenario === "steady" && n === settings.nova.defaults && !settings.nova.defaultsSteady)
            continue;
          jobs.push({ backend, kind: "nova", scenario, variant: n.label, nova: n });
        }
      }
    }
  }
  return jobs;
}
