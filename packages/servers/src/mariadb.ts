import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mariadbBinaries } from "./binaries.js";
import { MysqlError, mysqlConnect } from "./mysql-wire.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { tcpExchange } from "./probes.js";
import {
  awkwardPassword,
  credentialRefusals,
  nodeAddress,
  type SecureServer,
  secureServer,
} from "./secure.js";
import { launch, ManagedServer, type ServerParts } from "./server.js";
import { runSetupCommand } from "./setup-command.js";
import { askNodes, STATS_TIMEOUT_MS, StatsRefusedError } from "./stats.js";
import type { CommonServerOptions, Server, ServerNode, ServerStats } from "./types.js";
import { chownTo, serviceUser } from "./users.js";

/** Options of {@link startMariaDB}. */
export interface MariaDBOptions extends CommonServerOptions {
  /** Database created at startup and named in the URL. Default `rollcall`. */
  database?: string;
  /** `max_connections`. Default 300, enough for benchmarks with many sessions. */
  maxConnections?: number;
  /** Extra server options, such as `["--innodb-buffer-pool-size=256M"]`. */
  extraArgs?: readonly string[];
  /**
   * Password of `root` (every usable root account: `localhost`, `127.0.0.1`, `::1` and `%`), put in the URL
   * (percent-encoded). Default: none (root has an empty password).
   */
  password?: string;
}

/** A running MariaDB server. */
export interface MariaDBServer extends Server {
  readonly kind: "mariadb";
  /** The database named in the URL. */
  readonly database: string;
  /** root's password, if one was set. */
  readonly password: string | undefined;
}

class MariaDBServerImpl extends ManagedServer implements MariaDBServer {
  declare readonly kind: "mariadb";
  readonly database: string;
  readonly password: string | undefined;

  constructor(
    dir: string,
    reservation: PortReservation,
    parts: ServerParts,
    database: string,
    password: string | undefined,
  ) {
    super("mariadb", dir, reservation, parts);
    this.database = database;
    this.password = password;
  }

  /**
   * One session as `root` (with the password the server was started with), with `lock_wait_timeout=1`
   * and `max_statement_time=1.5`: `Threads_connected` minus this session, then `count(*)` of every base
   * table in every database but `mysql`, `information_schema`, `performance_schema` and `sys`.
   */
  async stats(): Promise<ServerStats> {
    this.assertOpen();
    const { answers, unreachable } = await askNodes(this.nodes, async (node) => {
      try {
        return await this.#measure(node);
      } catch (error) {
        // 1053: shutdown in progress; 1927: connection killed (by a shutdown)
        if (error instanceof MysqlError && error.errno !== 1053 && error.errno !== 1927) {
          throw new StatsRefusedError(`mariadb: stats: ${error.message} (error ${error.errno})`);
        }
        throw error;
      }
    });
    const answer = answers[0]?.value;
    const detail: Record<string, number> = {};
    let rows = 0;
    for (const [table, count] of answer?.tables ?? []) {
      detail[`rows:${table}`] = count;
      rows += count;
    }
    return {
      connections: answer?.connections ?? 0,
      objects: rows,
      detail: {
        rows,
        tables: answer?.tables.size ?? 0,
        databases: answer?.databases ?? 0,
        dataBytes: answer?.bytes ?? 0,
        ...detail,
        nodes: this.nodes.length,
        unreachable,
      },
    };
  }

  async #measure(
    node: ServerNode,
  ): Promise<{ connections: number; databases: number; bytes: number; tables: Map<string, number> }> {
    const session = await mysqlConnect({
      host: node.host,
      port: node.port,
      user: "root",
      password: this.password,
      timeoutMs: STATS_TIMEOUT_MS,
    });
    try {
      await session.query("set session lock_wait_timeout = 1, max_statement_time = 1.5");
      const [threads] = await session.query(
        "select variable_value from information_schema.global_status where variable_name = 'THREADS_CONNECTED'",
      );
      const databases = await session.query(
        "select schema_name from information_schema.schemata" +
          " where schema_name not in ('mysql', 'information_schema', 'performance_schema', 'sys')",
      );
      const list = await session.query(
        "select table_schema, table_name, coalesce(data_length, 0) + coalesce(index_length, 0)" +
          " from information_schema.tables where table_type in ('BASE TABLE', 'SYSTEM VERSIONED')" +
          " and table_schema not in ('mysql', 'information_schema', 'performance_schema', 'sys')" +
          " order by 1, 2",
      );
      const tables = new Map<string, number>();
      if (list.length > 0) {
        const counts = await session.query(
          list
            .map(
              ([schema, table], i) =>
                `select ${i}, count(*) from ${quoted(schema ?? "")}.${quoted(table ?? "")}`,
            )
            .join(" union all "),
        );
        for (const [i, count] of counts) {
          const [schema, table] = list[Number(i)] ?? [];
          tables.set(`${schema}.${table}`, Number(count));
        }
      }
      return {
        connections: Math.max(0, Number(threads?.[0] ?? 1) - 1),
        databases: databases.length,
        bytes: list.reduce((total, row) => total + Number(row[2] ?? 0), 0),
        tables,
      };
    } finally {
      // after the server closed the session, Threads_connected no longer counts it
      await session.close();
    }
  }
}

/** A quoted MariaDB identifier. */
function quoted(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}

/** A MariaDB string literal. */
function sqlString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * The init file run at every start: the database, `root@%` (so clients of other addresses, such as lab
 * hosts, get in), and root's password everywhere when there is one.
 */
function initSql(database: string, password: string | undefined): string {
  const lines = [
    `CREATE DATABASE IF NOT EXISTS \`${database}\`;`,
    "CREATE USER IF NOT EXISTS 'root'@'%';",
    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;",
  ];
  if (password !== undefined) {
    // mariadb-install-db also creates root@<hostname>, which --skip-name-resolve ignores (nobody can use it)
    for (const host of ["localhost", "127.0.0.1", "::1", "%"]) {
      lines.push(`ALTER USER IF EXISTS 'root'@${sqlString(host)} IDENTIFIED BY ${sqlString(password)};`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Ready when the server sends its protocol-10 handshake (0xff would be an error packet). */
async function sendsHandshake(host: string, port: number): Promise<boolean> {
  const reply = await tcpExchange({ host, port }, "", {
    timeoutMs: 1000,
    until: (bytes) => bytes.length >= 5,
  });
  return reply[4] === 0x0a;
}

/**
 * Start a throwaway MariaDB server from Debian's `mariadb-server` package: `mariadb-install-db` then
 * `mariadbd`, both with `--no-defaults` (so /etc/mysql is never read), `--bind-address=host` (127.0.0.1
 * unless told),
 * `--innodb-log-file-size=16M`, `--innodb-flush-log-at-trx-commit=0`, `--skip-name-resolve` and
 * `--max-connections=300`. When the caller is root, both run with `--user=mysql` and the data directory
 * belongs to `mysql`. An init file creates the database (`rollcall` by default), `root@'%'` and, given a
 * `password`, sets root's password, at every start (the password is never logged).
 *
 * Resolves when the server sends its protocol handshake on the TCP port.
 *
 * - `url` and `connectionString`: `mysql://root@host:p/rollcall`, or `mysql://root:password@host:p/rollcall`
 *   with a password (the `mysql2` client takes the URL as `uri`)
 *
 * @throws {@link MissingBinaryError} when `mariadbd`/`mariadb-install-db` are missing (package `mariadb-server`).
 * @throws {@link ServerStartError} with the log tail when install-db or the server fails.
 */
export async function startMariaDB(options: MariaDBOptions = {}): Promise<MariaDBServer> {
  const binaries = mariadbBinaries();
  const user = serviceUser("mysql", "mariadb-server");
  const database = options.database ?? "rollcall";
  if (!/^\w+$/.test(database)) throw new RangeError(`mariadb: bad database name ${JSON.stringify(database)}`);
  return launch(
    "mariadb",
    options,
    { nodes: 1, portsPerNode: 1 },
    async ({ root, host, ports, startTimeoutMs, stopTimeoutMs }) => {
      const port = ports[0]?.[0] ?? 0;
      const dir = join(root, "mariadb-1");
      const dataDir = join(dir, "data");
      mkdirSync(dir, { recursive: true });
      mkdirSync(dataDir, { mode: 0o750 });
      chownTo(user, dataDir);
      const initFile = join(dir, "init.sql");
      writeFileSync(initFile, initSql(database, options.password), { mode: 0o600 });
      chownTo(user, initFile);
      const logFile = join(dir, "mariadb.log");
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, LANG: "C", TZ: "UTC" };
      const userArgs = user === undefined ? [] : [`--user=${user.name}`];
      await runSetupCommand(
        "mariadb-1 install-db",
        {
          command: binaries.installDb,
          args: [
            "--no-defaults",
            `--datadir=${dataDir}`,
            ...userArgs,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
          ],
          cwd: dir,
          env,
          logFile,
        },
        startTimeoutMs,
      );
      const args = [
        "--no-defaults",
        ...userArgs,
        `--datadir=${dataDir}`,
        `--socket=${join(dataDir, "mysqld.sock")}`,
        `--pid-file=${join(dataDir, "mysqld.pid")}`,
        `--port=${port}`,
        `--bind-address=${host}`,
        "--skip-name-resolve",
        "--innodb-log-file-size=16M",
        "--innodb-flush-log-at-trx-commit=0",
        `--max-connections=${options.maxConnections ?? 300}`,
        `--init-file=${initFile}`,
        ...(options.extraArgs ?? []),
      ];
      const node = new ManagedNode({
        id: 1,
        name: "mariadb-1",
        host,
        secrets: options.password === undefined ? [] : [options.password],
        port,
        ports: { client: port },
        dir,
        logFile,
        spec: () => ({ command: binaries.mariadbd, args, cwd: dir, env, logFile }),
        isReady: () => sendsHandshake(host, port),
        stopSignal: "SIGTERM",
        startTimeoutMs,
        stopTimeoutMs,
      });
      const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}`;
      const url = `mysql://root${auth}@${host}:${port}/${database}`;
      return { url, connectionString: url, nodes: [node] };
    },
    (dir, reservation, parts) => new MariaDBServerImpl(dir, reservation, parts, database, options.password),
  );
}

/** Options of {@link secureMariaDB}: those of {@link startMariaDB} but the password it sets itself. */
export type SecureMariaDBOptions = Omit<MariaDBOptions, "password">;

/**
 * A MariaDB with password authentication: {@link startMariaDB} with a fresh password for `root`.
 *
 * - `url`: `mysql://root:<password>@host:p/<database>`;
 * - `secrets`: the password;
 * - `refused`: a wrong password, an unknown user, no password ({@link credentialRefusals}; user `root` when
 *   the URL names none).
 */
export async function secureMariaDB(
  options: SecureMariaDBOptions = {},
): Promise<SecureServer<MariaDBServer>> {
  const password = awkwardPassword("sql");
  const server = await startMariaDB({ ...options, password });
  const host = nodeAddress(server);
  const at = (userinfo: string) => `mysql://${userinfo}@${host}/${server.database}`;
  return secureServer(
    server,
    at(`root:${encodeURIComponent(password)}`),
    [password],
    credentialRefusals((userinfo) => at(userinfo || "root"), "root", password),
  );
}
