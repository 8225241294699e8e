/**
 * Throwaway real servers for tests and benchmarks: ZooKeeper, etcd, Redis, PostgreSQL and MariaDB started
 * from the Debian binaries as ordinary child processes on free 127.0.0.1 ports in temporary directories,
 * cleaned up even when the parent process is SIGKILLed.
 *
 * @packageDocumentation
 */
export { checkBinaries, DEBIAN_PACKAGES } from "./binaries.js";
export { MissingBinaryError, ServerStartError } from "./errors.js";
export { type EtcdOptions, type EtcdServer, startEtcd } from "./etcd.js";
export { type InstallPlan, installMissing, installPlan } from "./install.js";
export { type MariaDBOptions, type MariaDBServer, startMariaDB } from "./mariadb.js";
export { portLockDir, portRange } from "./ports.js";
export { type PostgresOptions, type PostgresServer, startPostgres } from "./postgres.js";
export { isAlive } from "./process-tree.js";
export { type RedisAclUser, type RedisOptions, type RedisServer, startRedis } from "./redis.js";
export {
  connectionEnvName,
  parseKind,
  SERVER_KINDS,
  type StartServerOptions,
  startServer,
  urlEnvName,
} from "./start-server.js";
export type { CommonServerOptions, Server, ServerKind, ServerNode } from "./types.js";
export {
  startZooKeeper,
  ZOOKEEPER_JVM_OPTIONS,
  type ZooKeeperMode,
  type ZooKeeperOptions,
  type ZooKeeperServer,
  zookeeperFourLetterWord,
} from "./zookeeper.js";
