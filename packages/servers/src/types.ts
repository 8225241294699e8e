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
   * Kill every node, remove the temporary directory and release the ports. Safe to call twice.
   */
  close(): Promise<void>;
  /** Same as {@link Server.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
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
