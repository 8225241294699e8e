/**
 * Throwaway real servers for tests and benchmarks: ZooKeeper, etcd, Redis, PostgreSQL and MariaDB started
 * from the Debian binaries as ordinary child processes on free ports of 127.0.0.1 (or the `host` address) in
 * temporary directories, cleaned up even when the parent process is SIGKILLed; optionally with passwords,
 * TLS (`secure…()`: a server that requires credentials, with its URL, secrets and refused URLs), and (as root) cluster nodes in a network lab whose hosts can be partitioned.
 *
 * @packageDocumentation
 */
export { checkBinaries, DEBIAN_PACKAGES } from "./binaries.js";
export {
  type CertificateFiles,
  type CertificateOptions,
  type Certificates,
  CLIENT_COMMON_NAME,
  createCertificates,
} from "./certificates.js";
export { MissingBinaryError, NetworkLabError, ServerStartError } from "./errors.js";
export { type EtcdOptions, type EtcdServer, type SecureEtcdOptions, secureEtcd, startEtcd } from "./etcd.js";
export { type InstallPlan, installMissing, installPlan } from "./install.js";
export {
  type MariaDBOptions,
  type MariaDBServer,
  type SecureMariaDBOptions,
  secureMariaDB,
  startMariaDB,
} from "./mariadb.js";
export {
  createNetworkLab,
  type LabHost,
  type NetworkLab,
  networkLabUnavailable,
} from "./network-lab.js";
export { portLockDir, portRange } from "./ports.js";
export {
  type PostgresOptions,
  type PostgresServer,
  type SecurePostgresOptions,
  securePostgres,
  startPostgres,
} from "./postgres.js";
export {
  type ProcessServer,
  type ProcessServerOptions,
  startProcessServer,
} from "./process-server.js";
export { isAlive } from "./process-tree.js";
export {
  type RedisAclUser,
  type RedisOptions,
  type RedisServer,
  type SecureRedisOptions,
  secureRedis,
  startRedis,
} from "./redis.js";
export { awkwardPassword, credentialRefusals, type RefusedUrl, type SecureServer } from "./secure.js";
export {
  connectionEnvName,
  parseKind,
  SERVER_KINDS,
  type StartServerOptions,
  startServer,
  urlEnvName,
} from "./start-server.js";
export { TcpProxy } from "./tcp-proxy.js";
export type { CommonServerOptions, Server, ServerKind, ServerNode, ServerStats } from "./types.js";
export {
  type SecureZooKeeperOptions,
  secureZooKeeper,
  startZooKeeper,
  ZOOKEEPER_JVM_OPTIONS,
  type ZooKeeperMode,
  type ZooKeeperOptions,
  type ZooKeeperServer,
  zookeeperFourLetterWord,
} from "./zookeeper.js";
