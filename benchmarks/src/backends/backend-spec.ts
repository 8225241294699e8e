import type { BackendName } from "../args.js";
import type { ServerCounter } from "../counters/server-counter.js";

/** A backend with its server running (or none needed), ready for scenarios. */
export interface RunningBackend {
  readonly name: BackendName;
  /** The package that registers the backend when imported. */
  readonly module: string;
  /** Whether members must live in the harness's process (memory://). */
  readonly inProcess: boolean;
  /** A rollcall URL for a fresh namespace with the given session timeout. */
  url(namespace: string, sessionTimeoutMs: number, extra?: Record<string, string>): string;
  /** The tooz URL of the same server, when tooz has a driver for it. */
  toozUrl?(namespace: string, timeoutSeconds: number): string;
  /** The etcd client endpoint, `http://host:port` (etcd only: the etcd3 npm client peer). */
  readonly etcdEndpoint?: string;
  /**
   * The SQL server's connection string, for the Nova peer: `postgresql://…` (`pg`'s) on PostgreSQL,
   * `mysql://…` (`mysql2`'s `uri`) on MySQL/MariaDB; absent elsewhere.
   */
  readonly connectionString?: string;
  /** Pids of the server's processes (each with its descendants counted). Empty without a server. */
  serverPids(): number[];
  /** The server's own request counter, if it has one. */
  readonly counter?: ServerCounter;
  /** Server name and version, e.g. "ZooKeeper 3.8.0". */
  readonly server: string;
  /** Stops the server and removes its files. */
  close(): Promise<void>;
}

/** How to bring up a backend. */
export interface BackendSpec {
  readonly name: BackendName;
  readonly module: string;
  /**
   * Starts the server (if any). `maxConnections` sizes SQL servers for the steady-cost scenario; `host` is
   * the address it listens on (127.0.0.1 unless told, such as a network lab's gateway).
   */
  start(options: { maxConnections: number; host?: string }): Promise<RunningBackend>;
}
