import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { MissingBinaryError } from "./errors.js";
import type { ServerKind } from "./types.js";

/**
 * The Debian packages that provide each kind of server (the first one is the server itself).
 */
export const DEBIAN_PACKAGES: Readonly<Record<ServerKind, readonly string[]>> = {
  zookeeper: ["zookeeper"],
  etcd: ["etcd-server", "etcd-client"],
  redis: ["redis-server"],
  postgres: ["postgresql"],
  mariadb: ["mariadb-server"],
};

/** Where Debian keeps the jars ZooKeeper needs. */
const JAVA_SHARE = "/usr/share/java";
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isReadable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function searchPath(extra: readonly string[] = []): string[] {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  for (const dir of [...extra, ...SBIN_DIRS]) if (!dirs.includes(dir)) dirs.push(dir);
  return dirs;
}

/**
 * Find an executable on PATH (and in the sbin directories, and in `extraDirs` first).
 *
 * @returns the absolute path, or undefined.
 */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  for (const dir of searchPath(extraDirs)) {
    const file = join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

function requireExecutable(kind: ServerKind, name: string, extraDirs: readonly string[] = []): string {
  const found = findExecutable(name, extraDirs);
  if (found === undefined)
    throw new MissingBinaryError(kind, name, DEBIAN_PACKAGES[kind], searchPath(extraDirs));
  return found;
}

/** Programs and jars ZooKeeper needs. */
export interface ZooKeeperBinaries {
  /** The `java` launcher. */
  java: string;
  /** Jars for the class path (ZooKeeper and its log4j binding). */
  classPath: string[];
}

/**
 * Locate `java` (JAVA_HOME first, then PATH) and Debian's ZooKeeper jars.
 *
 * @throws {@link MissingBinaryError} naming the `zookeeper` package.
 */
export function zookeeperBinaries(): ZooKeeperBinaries {
  const javaHome = process.env.JAVA_HOME;
  const java = requireExecutable("zookeeper", "java", javaHome ? [join(javaHome, "bin")] : []);
  const classPath = ["zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"].map((jar) =>
    join(JAVA_SHARE, jar),
  );
  for (const jar of classPath) {
    if (!isReadable(jar))
      throw new MissingBinaryError("zookeeper", jar, DEBIAN_PACKAGES.zookeeper, [JAVA_SHARE]);
  }
  return { java, classPath };
}

/** Locate `etcd`. @throws {@link MissingBinaryError} naming `etcd-server`. */
export function etcdBinary(): string {
  return requireExecutable("etcd", "etcd");
}

/** Locate `redis-server`. @throws {@link MissingBinaryError} naming `redis-server`. */
export function redisBinary(): string {
  return requireExecutable("redis", "redis-server");
}

/** Programs PostgreSQL needs. */
export interface PostgresBinaries {
  /** The `postgres` server. */
  postgres: string;
  /** `initdb`. */
  initdb: string;
}

/** PostgreSQL bin directories installed by Debian, newest version first. */
function postgresBinDirs(): string[] {
  try {
    return readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

/**
 * Locate `postgres` and `initdb` (newest /usr/lib/postgresql/N/bin first, then PATH).
 *
 * @throws {@link MissingBinaryError} naming `postgresql`.
 */
export function postgresBinaries(): PostgresBinaries {
  const dirs = postgresBinDirs();
  const postgres = requireExecutable("postgres", "postgres", dirs);
  const initdb = requireExecutable("postgres", "initdb", [
    postgres.slice(0, postgres.lastIndexOf("/")),
    ...dirs,
  ]);
  return { postgres, initdb };
}

/** Programs MariaDB needs. */
export interface MariaDBBinaries {
  /** The `mariadbd` server. */
  mariadbd: string;
  /** `mariadb-install-db`. */
  installDb: string;
}

/** Locate `mariadbd` and `mariadb-install-db`. @throws {@link MissingBinaryError} naming `mariadb-server`. */
export function mariadbBinaries(): MariaDBBinaries {
  return {
    mariadbd: requireExecutable("mariadb", "mariadbd"),
    installDb: requireExecutable("mariadb", "mariadb-install-db"),
  };
}

/**
 * Check whether the programs of a kind are installed.
 *
 * @returns undefined when they are, else the {@link MissingBinaryError} a start would throw.
 */
export function checkBinaries(kind: ServerKind): MissingBinaryError | undefined {
  try {
    if (kind === "zookeeper") zookeeperBinaries();
    else if (kind === "etcd") etcdBinary();
    else if (kind === "redis") redisBinary();
    else if (kind === "postgres") postgresBinaries();
    else mariadbBinaries();
    return undefined;
  } catch (error) {
    if (error instanceof MissingBinaryError) return error;
    throw error;
  }
}
