/** The backends the harness knows, in the order the page lists them. */
export const BACKENDS = ["memory", "zookeeper", "etcd", "redis", "postgresql", "mysql", "sqlite"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The scenarios, in the order they run and the page lists them. */
export const SCENARIOS = [
  "notify",
  "detect",
  "failover",
  "churn",
  "steady",
  "scale",
  "partition",
  "serve",
  "config",
  "reactor",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * The peers run beside rollcall on the same servers: OpenStack tooz, the Nova DB heartbeat, and (config
 * scenario, etcd only) the etcd3 npm client's own get / put / watch.
 */
export const PEERS = ["tooz", "nova", "etcd3"] as const;
export type PeerName = (typeof PEERS)[number];

const BACKEND_ALIASES: Record<string, BackendName> = {
  zk: "zookeeper",
  pg: "postgresql",
  postgres: "postgresql",
  mariadb: "mysql",
};

const SCENARIO_ALIASES: Record<string, ScenarioName> = {
  "steady-cost": "steady",
  cost: "steady",
  netsplit: "partition",
  dashboard: "serve",
  configuration: "config",
  react: "reactor",
  reactors: "reactor",
};

/** What one invocation of the harness does. */
export interface BenchArgs {
  /** The reduced set (`--quick`): fewer repetitions, smaller groups, shorter windows. */
  quick: boolean;
  /** Backends to run, in canonical order. */
  backends: BackendName[];
  /** Scenarios to run, in canonical order. */
  scenarios: ScenarioName[];
  /** Peers to run beside rollcall (empty with `--peers none`). */
  peers: PeerName[];
  /**
   * Whether to regenerate docs/benchmarks.md. Default: only for a full run of everything (a quick or
   * filtered run, and `--render` without `--docs`, write the page next to the results instead).
   */
  docs: boolean;
  /** `--render FILE`: only regenerate the page from a results file, run nothing. */
  render: string | undefined;
  /** tooz's `run_watchers()` interval in ms (`--tooz-interval`, default 1000). */
  toozInterval: number;
  /** Print usage and exit. */
  help: boolean;
}

/** A bad command line; the message says what was wrong. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage: pnpm bench [options]   (or: pnpm bench:quick)

  --quick                 the reduced set (each scenario smaller and shorter; a few minutes)
  --backend a,b           backends: ${BACKENDS.join(", ")} (aliases zk, pg, postgres, mariadb)
  --scenario a,b          scenarios: ${SCENARIOS.join(", ")}
  --peers a,b | none      peers run beside rollcall on the same servers: ${PEERS.join(", ")} (default: all)
  --docs / --no-docs      regenerate docs/benchmarks.md (default: only for a full, unfiltered run)
  --render FILE           regenerate the page from a results file, run nothing
  --tooz-interval MS      tooz's run_watchers() interval (default 1000)
  --help
`;

function pick<T extends string>(
  value: string,
  known: readonly T[],
  aliases: Record<string, T>,
  what: string,
): T[] {
  const chosen = new Set<T>();
  for (const raw of value.split(",")) {
    const name = raw.trim().toLowerCase();
    if (name === "") continue;
    if (name === "all") {
      for (const k of known) chosen.add(k);
      continue;
    }
    const resolved = (known as readonly string[]).includes(name) ? (name as T) : aliases[name];
    if (resolved === undefined) {
      throw new UsageError(`unknown ${what} ${JSON.stringify(raw.trim())}: expected ${known.join(", ")}`);
    }
    chosen.add(resolved);
  }
  if (chosen.size === 0) throw new UsageError(`--${what} needs at least one name`);
  return known.filter((k) => chosen.has(k));
}

/**
 * Parses the harness's command line (without `node` and the script). Accepts `--flag value` and
 * `--flag=value`; repeated `--backend` / `--scenario` options add up.
 * @throws UsageError naming the bad argument
 */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let quick = false;
  let help = false;
  let docs: boolean | undefined;
  let render: string | undefined;
  let toozInterval = 1000;
  let backends: BackendName[] | undefined;
  let scenarios: ScenarioName[] | undefined;
  let peers: PeerName[] | undefined;
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === "--") continue;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq !== -1 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq !== -1 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? args.shift();
      if (v === undefined || (inline === undefined && v.startsWith("--"))) {
        throw new UsageError(`${flag} needs a value`);
      }
      return v;
    };
    switch (flag) {
      case "--quick":
        quick = true;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      case "--docs":
        docs = true;
        break;
      case "--no-docs":
        docs = false;
        break;
      case "--backend":
      case "--backends":
        backends = [
          ...new Set([...(backends ?? []), ...pick(value(), BACKENDS, BACKEND_ALIASES, "backend")]),
        ];
        break;
      case "--scenario":
      case "--scenarios":
        scenarios = [
          ...new Set([...(scenarios ?? []), ...pick(value(), SCENARIOS, SCENARIO_ALIASES, "scenario")]),
        ];
        break;
      case "--peers": {
        const v = value();
        peers = v.trim().toLowerCase() === "none" ? [] : pick(v, PEERS, {}, "peers");
        break;
      }
      case "--no-peers":
        peers = [];
        break;
      case "--render":
        render = value();
        break;
      case "--tooz-interval": {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 10 || n > 60_000) {
          throw new UsageError(
            `--tooz-interval must be an integer from 10 to 60000 (ms), got ${JSON.stringify(v)}`,
          );
        }
        toozInterval = n;
        break;
      }
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  const filtered = backends !== undefined || scenarios !== undefined || peers !== undefined;
  return {
    quick,
    help,
    backends: BACKENDS.filter((b) => backends === undefined || backends.includes(b)),
    scenarios: SCENARIOS.filter((s) => scenarios === undefined || scenarios.includes(s)),
    peers: PEERS.filter((p) => peers === undefined || peers.includes(p)),
    // `--render FILE` writes its page beside the file unless told `--docs`, as the README shows.
    docs: docs ?? (!quick && !filtered && render === undefined),
    render,
    toozInterval,
  };
}
