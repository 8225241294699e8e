import type { LabHost, NetworkLab } from "./network-lab.js";

/**
 * The kinds of server this package can start.
 */
export type ServerKind = "zookeeper" | "etcd" | "redis" | "postgres" | "mariadb";

/**
 * One server process of a {@link Server}: the only process of a standalone server, or one member of a
 * ZooKeeper ensemble or etcd cluster.
 *
 * A node keeps its ports and its data directory for the whole life of its server, so {@link ServerNode.start}
 * after {@link ServerNode.kill} or {@link ServerNode.stop} brings back the same member with the same data.
 */
export interface ServerNode {
  /** 1-based index of the node within its server (the ZooKeeper `myid`, the etcd member `nodeN`). */
  readonly id: number;
  /** A short name such as `zookeeper-2`, used in logs and errors. */
  readonly name: string;
  /**
   * Process id of the running server process, or of the last one if the node is not running
   * (0 before the first start).
   */
  readonly pid: number;
  /** The IPv4 address the node listens on: the `host` option (default 127.0.0.1), or its lab host's address. */
  readonly host: string;
  /** The client port on {@link ServerNode.host}. */
  readonly port: number;
  /** Every port this node owns, by role (`client`, `peer`, `quorum`, `election`). */
  readonly ports: Readonly<Record<string, number>>;
  /** The node's private directory (configuration, data, log), removed by {@link Server.close}. */
  readonly dir: string;
  /** The file that receives the server's stdout and stderr. */
  readonly logFile: string;
  /** Whether the server process is alive (true also while paused). */
  readonly running: boolean;
  /** Whether the process is stopped with SIGSTOP by {@link ServerNode.pause}. */
  readonly paused: boolean;
  /**
   * Crash the node: SIGKILL the server process and every process it started. Resolves when they are gone.
   * Does nothing if the node is not running.
   */
  kill(): Promise<void>;
  /** Freeze the node with SIGSTOP (all of its processes): it keeps its sockets but answers nothing. */
  pause(): void;
  /** Undo {@link ServerNode.pause} with SIGCONT. */
  resume(): void;
  /**
   * Stop the node gracefully (SIGTERM, SIGINT for PostgreSQL), escalating to SIGKILL after the stop timeout.
   * Resolves when the process is gone. Does nothing if the node is not running.
   */
  stop(): Promise<void>;
  /**
   * Start the node again after {@link ServerNode.stop} or {@link ServerNode.kill}, on the same ports with the
   * same data directory. Resolves when it is ready; rejects with a {@link ServerStartError} otherwise.
   */
  start(): Promise<void>;
  /** {@link ServerNode.stop} then {@link ServerNode.start}. */
  restart(): Promise<void>;
  /** The network-lab host the node runs in (servers started with `lab`), else undefined. */
  readonly labHost: LabHost | undefined;
  /** Whether the node's lab host is cut off by {@link ServerNode.partition}. */
  readonly partitioned: boolean;
  /**
   * Cut the node off the network ({@link LabHost.cut}): packets to and from it are dropped, while the process
   * keeps running with its sockets. Idempotent.
   *
   * @throws Error when the node does not run in a network lab (start the server with `lab`).
   */
  partition(): Promise<void>;
  /**
   * Undo {@link ServerNode.partition} ({@link LabHost.heal}). Idempotent.
   *
   * @throws Error when the node does not run in a network lab.
   */
  heal(): Promise<void>;
  /** Last lines of the node's log (20 unless told), for diagnostics. */
  logTail(lines?: number): string;
}

/**
 * A running throwaway server (or cluster). Close it with {@link Server.close}, or with `await using`.
 */
export interface Server extends AsyncDisposable {
  /** Which kind of server this is. */
  readonly kind: ServerKind;
  /** The URL a rollcall backend takes, such as `redis://127.0.0.1:23456` (it names the `host` option's address). */
  readonly url: string;
  /** The connection string the kind's npm client takes (see each `start…` function). */
  readonly connectionString: string;
  /** The server processes; one for standalone servers. */
  readonly nodes: readonly ServerNode[];
  /** The temporary directory holding every node's directory; removed by {@link Server.close}. */
  readonly dir: string;
  /** Whether {@link Server.close} has been called. */
  readonly closed: boolean;
  /**
   * Measure the server as it is now: the client connections it holds and the objects it stores (see
   * {@link ServerStats} for what each kind counts and how). For endurance tests that sample a server
   * while it is loaded, paused, killed and restarted.
   *
   * Each node is asked over its client port with the admin credentials the server was started with (and its
   * TLS client certificate, if any), on a connection of its own that is left out of `connections`. A node
   * that is not running, paused, partitioned, or does not answer within 2 s is skipped and counted in
   * `detail.unreachable`, so the call never takes much longer than 2 s; when no node answers,
   * `connections` and `objects` are 0 — check `detail.unreachable` before comparing numbers.
   *
   * @throws when a node answers but refuses the probe (wrong credentials, a failing SQL statement such as a
   *   lock timeout while a table is exclusively locked), or once the server is closed.
   */
  stats(): Promise<ServerStats>;
  /**
   * Kill every node, remove the temporary directory and release the ports. Safe to call twice.
   */
  close(): Promise<void>;
  /** Same as {@link Server.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What {@link Server.stats} measured, asked of the server itself. Per kind:
 *
 * - **ZooKeeper** — `mntr` of every node. `connections`: `zk_num_alive_connections` minus the `mntr`
 *   connection itself, summed over the nodes. `objects`: `zk_znode_count` of the leader (of the node with the
 *   most znodes when no leader answers); an empty server has 5 (`/`, `/zookeeper`, its `config` and `quota`…).
 *   `detail`: `znodes`, `ephemerals`, `dataBytes` (of the same node), `watches`, `outstandingRequests`
 *   (summed), `leader` (node id, 0 when none answered).
 * - **etcd** — `connections`: established TCP connections on each member's client port held by the member's
 *   process, from `/proc/<pid>/net/tcp` and `/proc/<pid>/fd` (read before the probe connects; the member's
 *   own gRPC-gateway connection to itself is left out), summed. etcd has no gauge of client connections, and
 *   gRPC's started-minus-handled counts open streams, not connections (an idle client has none, one client
 *   with five watches has five): that is `detail.grpcStreams`. A gRPC client may hold several connections
 *   (grpc-js opens one per service unless channels are shared). `objects`: `etcd_debugging_mvcc_keys_total`
 *   of `/metrics` on the leader (`etcd_server_is_leader`; else the member with the most keys). `detail`:
 *   `keys`, `leases` (`/v3/lease/leases` of the leader; absent without a leader or with authentication on),
 *   `watchers`, `watchStreams`, `grpcStreams` (summed), `dbSize` (bytes), `leader` (node id or 0).
 * - **Redis** — `INFO clients keyspace memory`. `connections`: `connected_clients` minus the probe.
 *   `objects`: the keys of every database. `detail`: `keys`, `expires`, `keys:db<N>` per database,
 *   `blockedClients`, `usedMemory` (bytes).
 * - **PostgreSQL** — `connections`: `pg_stat_activity` rows with `backend_type = 'client backend'`, without
 *   the probe's sessions (`application_name` `rollcall-servers-stats`). `objects`: `count(*)` of every
 *   ordinary table (partitions counted, not their parents) outside `pg_catalog`, `information_schema`,
 *   `pg_toast` and temporary schemas, in every database that is not a template. `detail`: `rows`, `tables`,
 *   `databases`, `dbSize` (bytes, `pg_database_size` summed), `bytes:<database>`,
 *   `rows:<database>.<schema>.<table>`.
 * - **MariaDB** — `connections`: `Threads_connected` minus the probe (which waits for the server to close
 *   its session before returning). `objects`: `count(*)` of every base table in every database but `mysql`,
 *   `information_schema`, `performance_schema` and `sys`. `detail`: `rows`, `tables`, `databases`,
 *   `dataBytes` (data and index length from `information_schema.tables`, an estimate),
 *   `rows:<database>.<table>`.
 *
 * Every kind's `detail` also has `nodes` (how many nodes the server has) and `unreachable` (how many were
 * skipped: not running, paused, partitioned, silent for 2 s, or — ZooKeeper — not serving for want of a
 * quorum).
 */
export interface ServerStats {
  /** Client connections the server holds now (all nodes summed for a cluster), excluding the probe's own. */
  connections: number;
  /**
   * The server's own object count: Redis keys (all dbs), ZooKeeper znodes, etcd keys, SQL rows in every user
   * table of the test database(s).
   */
  objects: number;
  /**
   * Per-kind details that explain the numbers, such as `znodes`, `ephemerals` and `watches`, or
   * `rows:<database>.<schema>.<table>` and `bytes:<database>`; every kind has `nodes` and `unreachable`.
   */
  detail: Record<string, number>;
}

/**
 * Options every `start…` function takes.
 */
export interface CommonServerOptions {
  /**
   * The IPv4 address the server listens on, and names in its `url` and `connectionString`: 127.0.0.1 unless
   * told, such as a {@link NetworkLab.gateway} to make the server reachable from lab hosts. Must be an
   * address of this machine; the wildcard 0.0.0.0 is refused.
   */
  host?: string;
  /**
   * How long to wait for the server (every node) to become ready, in milliseconds. Default 30 000.
   */
  startTimeoutMs?: number;
  /**
   * How long {@link ServerNode.stop} waits for a graceful exit before SIGKILL, in milliseconds. Default 10 000.
   */
  stopTimeoutMs?: number;
  /**
   * Parent of the temporary directory. Default: `os.tmpdir()`. PostgreSQL and MariaDB run as their own users
   * when the caller is root, so this directory must be reachable by them (not under /root).
   */
  tmpDir?: string;
}
