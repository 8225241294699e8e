import { startEtcd } from "./etcd.js";
import { startMariaDB } from "./mariadb.js";
import { startPostgres } from "./postgres.js";
import { startRedis } from "./redis.js";
import type { CommonServerOptions, Server, ServerKind } from "./types.js";
import { startZooKeeper } from "./zookeeper.js";

/** Every kind, in a stable order. */
export const SERVER_KINDS: readonly ServerKind[] = ["zookeeper", "etcd", "redis", "postgres", "mariadb"];

/**
 * The environment variable that `rollcall-servers run` sets to a kind's URL:
 * `ROLLCALL_ZOOKEEPER_URL`, `ROLLCALL_ETCD_URL`, `ROLLCALL_REDIS_URL`, `ROLLCALL_POSTGRES_URL`,
 * `ROLLCALL_MARIADB_URL`.
 */
export function urlEnvName(kind: ServerKind): string {
  return `ROLLCALL_${kind.toUpperCase()}_URL`;
}

/**
 * The environment variable that `rollcall-servers run` sets to a kind's client connection string, such as
 * `ROLLCALL_ZOOKEEPER_CONNECTION`.
 */
export function connectionEnvName(kind: ServerKind): string {
  return `ROLLCALL_${kind.toUpperCase()}_CONNECTION`;
}

/**
 * Parse a kind name; also accepts `zk`, `pg`, `postgresql`, `mysql`.
 *
 * @returns the kind, or undefined for an unknown name.
 */
export function parseKind(name: string): ServerKind | undefined {
  const aliases: Record<string, ServerKind> = {
    zookeeper: "zookeeper",
    zk: "zookeeper",
    etcd: "etcd",
    redis: "redis",
    postgres: "postgres",
    postgresql: "postgres",
    pg: "postgres",
    mariadb: "mariadb",
    mysql: "mariadb",
  };
  return aliases[name.toLowerCase()];
}

/** Options of {@link startServer}. */
export interface StartServerOptions extends CommonServerOptions {
  /** Cluster size for ZooKeeper and etcd (ignored by the others). Default 1. */
  nodes?: 1 | 3;
}

/**
 * Start a server of any kind with default settings (what `rollcall-servers run` does).
 */
export function startServer(kind: ServerKind, options: StartServerOptions = {}): Promise<Server> {
  const { nodes, ...common } = options;
  switch (kind) {
    case "zookeeper":
      return startZooKeeper({ ...common, nodes: nodes ?? 1 });
    case "etcd":
      return startEtcd({ ...common, nodes: nodes ?? 1 });
    case "redis":
      return startRedis(common);
    case "postgres":
      return startPostgres(common);
    case "mariadb":
      return startMariaDB(common);
  }
}
