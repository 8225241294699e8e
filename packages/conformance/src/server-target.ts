import type { NetworkLab, ServerNode } from "@rollcall/servers";
import { killLeaderFault, labIfAvailable, partitionLeaderFault, restartFault } from "./lab-faults.js";
import type { ConformanceOptions, ConformanceTarget, SetupOptions } from "./options.js";

/**
 * What the kit needs of a `@rollcall/servers` server (any `start…()` result): its URL, its nodes (the
 * same kill / pause / restart / partition handle for every kind) and `close()`.
 */
export interface KitServer {
  /** The rollcall URL of the server. */
  readonly url: string;
  /** Its nodes; the `restartServer` fault restarts the first. */
  readonly nodes: readonly ServerNode[];
  /** Tears it down. */
  close(): Promise<void>;
}

/** A `@rollcall/servers` cluster (`startZooKeeper` / `startEtcd` with `nodes: 3`): also which node leads. */
export interface KitCluster extends KitServer {
  /** The node that leads now (waits for an election in progress). */
  leader(): Promise<ServerNode>;
}

/**
 * What the security suite needs of a server that requires credentials: a `@rollcall/servers`
 * `SecureServer` (`secureRedis()`, `secureEtcd()`, `secureZooKeeper()`, `securePostgres()`,
 * `secureMariaDB()`) — or anything shaped like it.
 */
export interface KitSecureServer {
  /** A URL that connects with credentials; the kit adds `namespace=` and `sessionTimeout=`. */
  readonly url: string;
  /** Every secret of the setup (see {@link SecurityTarget.secrets}). */
  readonly secrets: readonly string[];
  /** URLs with wrong credentials, each refused at `connect()`. */
  readonly refused: readonly { why: string; url: string }[];
  /** Variables the backend reads secrets from, if any (see {@link SecurityTarget.env}). */
  readonly env?: Record<string, string>;
  /** Tears it down. */
  close(): Promise<void>;
}

/** What the kit tells {@link ServerSpec.secure} about the names it will use. */
export interface SecureSetup {
  /**
   * Every namespace the security suite uses starts with this (`"ns-"`): a server that confines its user
   * to part of the keyspace grants this prefix (`secureEtcd({ keyPrefix: namespacePrefix })`).
   */
  namespacePrefix: string;
}

/**
 * A single-node server from `@rollcall/servers` ({@link ConformanceOptions.server}): the kit starts it for
 * the main suites, again on the lab's gateway for the partition suite, and the secure variant for the
 * security suite, and derives the faults from it.
 *
 * @example
 * ```ts
 * server: {
 *   start: (at) => startRedis({ ...at }),
 *   secure: () => secureRedis(),
 *   restart: { preservesSessions: false },
 * }
 * ```
 */
export interface ServerSpec {
  /**
   * Starts the server: with `{}` for the main suites, with `{ host }` (the network lab's gateway: listen
   * there and name it in the URL — the `host` option of every `start…()`) for the partition suite.
   */
  start(at: { host?: string }): Promise<KitServer>;
  /**
   * The `restartServer` fault: the first node stopped and started again on the same port and data, and
   * whether sessions survive it (see {@link Fault.preservesSessions}).
   */
  restart?: { preservesSessions: boolean };
  /** Starts a server that requires credentials, for the security suite (registered when given). */
  secure?(setup: SecureSetup): Promise<KitSecureServer>;
  /**
   * Register the partition suite (default true): members in lab hosts whose links are cut. `false` only
   * for a server the lab's hosts cannot reach.
   */
  partition?: boolean;
}

/**
 * A cluster from `@rollcall/servers` ({@link ConformanceOptions.cluster}): started once for the main
 * suites, its nodes in hosts of a network lab of its own where one can be created (as root; elsewhere the
 * reason is on the console and the `partitionNode` test says so in its place). Both faults act on the
 * leader and are on unless set to `false`.
 *
 * @example
 * ```ts
 * cluster: { start: (at) => startZooKeeper({ nodes: 3, ...at }) }
 * ```
 */
export interface ClusterSpec {
  /** Starts the cluster; with `{ lab }`, each node in a host of that lab (the `lab` option of `start…()`). */
  start(at: { lab?: NetworkLab }): Promise<KitCluster>;
  /**
   * The `killNode` fault: the leader killed (SIGKILL), a new leader awaited, and the old node started again
   * after `downFor` ms more (default 0: as soon as the others have a leader). Sessions must survive.
   * `false`: no such fault.
   */
  killLeader?: { downFor: number } | false;
  /**
   * The `partitionNode` fault ({@link partitionLeaderFault}): the leader cut off from the other nodes and
   * from its clients for `holdFor` ms (default two session timeouts: sessions attached to it must move to
   * survive), healed, a leader awaited. Sessions must survive. `false`: no such fault (and no lab).
   */
  partitionLeader?: { holdFor: number } | false;
}

/** Every namespace the kit makes starts with this (`randomId("ns")`). */
export const NAMESPACE_PREFIX = "ns-";

type Faults = NonNullable<ConformanceOptions["faults"]>;

/** {@link ConformanceOptions} whose `setup()` exists: given, or built from `server` / `cluster`. */
export type ResolvedOptions = ConformanceOptions & Required<Pick<ConformanceOptions, "setup">>;

function serverSetup(spec: ServerSpec): (options?: SetupOptions) => Promise<ConformanceTarget> {
  return async (options) => {
    if (options?.secure) {
      if (!spec.secure) throw new Error("server.secure is not given: there is no security suite to set up");
      const secure = await spec.secure({ namespacePrefix: NAMESPACE_PREFIX });
      return {
        url: secure.url,
        close: () => secure.close(),
        security: {
          url: secure.url,
          secrets: [...secure.secrets],
          refused: [...secure.refused],
          ...(secure.env ? { env: secure.env } : {}),
        },
      };
    }
    const server = await spec.start(options?.lab ? { host: options.lab.gateway } : {});
    return {
      url: server.url,
      close: () => server.close(),
      ...(spec.restart
        ? { faults: { restartServer: restartFault(server, spec.restart.preservesSessions) } }
        : {}),
    };
  };
}

function clusterSetup(
  spec: ClusterSpec,
  sessionTimeout: number,
): (options?: SetupOptions) => Promise<ConformanceTarget> {
  const kill = spec.killLeader ?? { downFor: 0 };
  const cut = spec.partitionLeader ?? { holdFor: 2 * sessionTimeout };
  return async (options) => {
    if (options?.lab || options?.secure) {
      throw new Error("a cluster target has no partition or security suite: its faults partition its nodes");
    }
    const lab = cut ? await labIfAvailable() : undefined;
    let server: KitCluster;
    try {
      server = await spec.start(lab ? { lab } : {});
    } catch (error) {
      await lab?.close();
      throw error;
    }
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await lab?.close();
      },
      faults: {
        ...(kill ? { killNode: killLeaderFault(server, kill.downFor) } : {}),
        ...(lab && cut ? { partitionNode: partitionLeaderFault(server, cut.holdFor) } : {}),
      },
    };
  };
}

/**
 * The options with `setup()` and the suites' flags (`faults`, `security`, `partition`) derived from
 * `server` or `cluster`; options with a `setup()` of their own are returned as they are. Exactly one of
 * `setup`, `server`, `cluster` must be given.
 */
export function resolveOptions(options: ConformanceOptions): ResolvedOptions {
  const given = [options.setup, options.server, options.cluster].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new Error(`${options.name}: give runConformance() exactly one of setup, server and cluster`);
  }
  if (options.setup) return options as ResolvedOptions;
  // The result has `setup` and neither `server` nor `cluster`, so resolving it again returns it as it is.
  const { server, cluster, ...rest } = options;
  const faults: Faults = [...(options.faults ?? [])];
  const add = (fault: Faults[number]) => {
    if (!faults.includes(fault)) faults.push(fault);
  };
  if (server) {
    const spec = server;
    if (spec.restart) add("restartServer");
    return {
      ...rest,
      setup: serverSetup(spec),
      faults,
      partition: options.partition ?? spec.partition ?? true,
      security: options.security ?? spec.secure !== undefined,
    };
  }
  const spec = cluster as ClusterSpec;
  if (spec.killLeader !== false) add("killNode");
  if (spec.partitionLeader !== false) add("partitionNode");
  return { ...rest, setup: clusterSetup(spec, options.timing?.sessionTimeout ?? 2000), faults };
}
