import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { postgresBinaries } from "./binaries.js";
import { type CertificateFiles, serverCertificates } from "./certificates.js";
import { janitor } from "./janitor.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { acceptsSessions } from "./postgres-probe.js";
import { PgError, type PgSession, pgConnect } from "./postgres-wire.js";
import { clientFiles } from "./probes.js";
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
import { postgresShmId, removeOrphanedShm } from "./sysv-shm.js";
import type { CommonServerOptions, Server, ServerNode, ServerStats } from "./types.js";
import { chownTo, serviceUser } from "./users.js";

/** Options of {@link startPostgres}. */
export interface PostgresOptions extends CommonServerOptions {
  /** `max_connections`. Default 300, enough for benchmarks with many sessions. */
  maxConnections?: number;
  /** Extra server settings passed as `-c name=value`. */
  settings?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Password of the `postgres` superuser. With it, pg_hba.conf requires `scram-sha-256` for every TCP client
   * (no trust) and the URL carries the password (percent-encoded). Default: none, trust authentication.
   */
  password?: string;
  /**
   * Require TLS: a throwaway PKI ({@link createCertificates}) is made in the server's directory, the server
   * runs with `ssl=on` and its certificate, and pg_hba.conf has only `hostssl` lines, so plain TCP sessions are
   * refused. Clients verify the server with {@link PostgresServer.certificates}' `caFile`. Default false.
   */
  tls?: boolean;
}

/** A running PostgreSQL server. */
export interface PostgresServer extends Server {
  readonly kind: "postgres";
  /** The `postgres` superuser's password, if one was set. */
  readonly password: string | undefined;
  /** With `tls`, the PEM files (`caFile` verifies the server); undefined without `tls`. */
  readonly certificates: CertificateFiles | undefined;
}

class PostgresServerImpl extends ManagedServer implements PostgresServer {
  declare readonly kind: "postgres";
  readonly password: string | undefined;

  constructor(dir: string, reservation: PortReservation, parts: ServerParts, password: string | undefined) {
    super("postgres", dir, reservation, parts);
    this.password = password;
  }

  /**
   * Sessions as `postgres` (with the password and TLS client certificate the server was started with),
   * named {@link STATS_APPLICATION_NAME}: in database `postgres`, the client backends of
   * `pg_stat_activity` that are not such probes, and the databases that are not templates with their
   * sizes; then in each of those databases (in parallel) `count(*)` of every table outside the system
   * schemas. Sessions run with `lock_timeout=1s` and `statement_timeout=1.5s`.
   */
  async stats(): Promise<ServerStats> {
    this.assertOpen();
    const { answers, unreachable } = await askNodes(this.nodes, async (node) => {
      try {
        return await this.#measure(node);
      } catch (error) {
        if (error instanceof PgError && !/^(?:08|57)/.test(error.code)) {
          throw new StatsRefusedError(`postgres: stats: ${error.message} (SQLSTATE ${error.code})`);
        }
        throw error;
      }
    });
    const answer = answers[0]?.value;
    const detail: Record<string, number> = {};
    let rows = 0;
    let dbSize = 0;
    for (const { name, bytes, tables } of answer?.databases ?? []) {
      detail[`bytes:${name}`] = bytes;
      dbSize += bytes;
      for (const [table, count] of tables) {
        detail[`rows:${name}.${table}`] = count;
        rows += count;
      }
    }
    return {
      connections: answer?.connections ?? 0,
      objects: rows,
      detail: {
        rows,
        tables: (answer?.databases ?? []).reduce((total, { tables }) => total + tables.size, 0),
        databases: answer?.databases.length ?? 0,
        dbSize,
        ...detail,
        nodes: this.nodes.length,
        unreachable,
      },
    };
  }

  async #measure(node: ServerNode): Promise<{ connections: number; databases: DatabaseCount[] }> {
    const deadline = Date.now() + STATS_TIMEOUT_MS;
    const open = (database: string): Promise<PgSession> =>
      pgConnect({
        host: node.host,
        port: node.port,
        user: "postgres",
        database,
        password: this.password,
        tls: clientFiles(this.certificates),
        applicationName: STATS_APPLICATION_NAME,
        settings: { lock_timeout: 1000, statement_timeout: 1500 },
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
    const main = await open("postgres");
    try {
      const [activity, list] = await main.query(
        "select count(*) from pg_stat_activity where backend_type = 'client backend'" +
          ` and application_name is distinct from '${STATS_APPLICATION_NAME}';` +
          " select datname, pg_database_size(oid) from pg_database" +
          " where datallowconn and not datistemplate order by datname",
      );
      const databases = await Promise.all(
        (list?.rows ?? []).map(async ([name, bytes]) => {
          const database = name ?? "";
          if (database === "postgres") return countRows(main, database, Number(bytes));
          const session = await open(database);
          try {
            return await countRows(session, database, Number(bytes));
          } finally {
            session.close();
          }
        }),
      );
      return { connections: Number(activity?.rows[0]?.[0] ?? 0), databases };
    } finally {
      main.close();
    }
  }
}

/** The `application_name` of the sessions of {@link Server.stats}, left out of its connection count. */
export const STATS_APPLICATION_NAME = "rollcall-servers-stats";

/** One database's size and row counts by `schema.table`. */
interface DatabaseCount {
  name: string;
  bytes: number;
  tables: Map<string, number>;
}

/** A quoted SQL identifier. */
function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `count(*)` of every ordinary table outside pg_catalog, information_schema, pg_toast and temporary schemas. */
async function countRows(session: PgSession, name: string, bytes: number): Promise<DatabaseCount> {
  const [list] = await session.query(
    "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace" +
      " where c.relkind = 'r' and c.relpersistence <> 't' and n.nspname <> 'information_schema'" +
      " and n.nspname not like 'pg\\_%' order by 1, 2",
  );
  const tables = (list?.rows ?? []).map(([schema, table]) => [schema ?? "", table ?? ""] as const);
  const counts = new Map<string, number>();
  if (tables.length === 0) return { name, bytes, tables: counts };
  const [result] = await session.query(
    tables
      .map(([schema, table], i) => `select ${i}, count(*) from ${identifier(schema)}.${identifier(table)}`)
      .join(" union all "),
  );
  for (const [i, count] of result?.rows ?? []) {
    const [schema, table] = tables[Number(i)] ?? ["", ""];
    counts.set(`${schema}.${table}`, Number(count));
  }
  return { name, bytes, tables: counts };
}

/**
 * pg_hba.conf of a throwaway server: every TCP client (`hostssl` only with TLS), for every database and
 * replication, with trust or scram-sha-256.
 */
function hbaFile(password: boolean, tls: boolean): string {
  const method = password ? "scram-sha-256" : "trust";
  const type = tls ? "hostssl" : "host";
  return [
    "# written by @rollcall/servers",
    `local all all ${method}`,
    `${type} all all 0.0.0.0/0 ${method}`,
    `${type} all all ::/0 ${method}`,
    `local replication all ${method}`,
    `${type} replication all 0.0.0.0/0 ${method}`,
    `${type} replication all ::/0 ${method}`,
    "",
  ].join("\n");
}

/**
 * Start a throwaway PostgreSQL server from Debian's `postgresql` package (the newest
 * /usr/lib/postgresql/N/bin). `initdb -A trust -U postgres --no-sync` (with `--pwfile` given a `password`),
 * then `postgres` in the foreground with `listen_addresses` the `host` (127.0.0.1 unless told), no Unix socket, `fsync=off`, `synchronous_commit=off`,
 * `full_page_writes=off` and `max_connections=300`. When the caller is root, initdb and the server run as
 * the `postgres` user (node's `uid`/`gid` spawn options, which drop privileges as `runuser` would, while
 * keeping the server's real pid for kill/pause); the temporary directory is reachable by that user.
 *
 * Resolves when a session for user `postgres` reaches ReadyForQuery.
 *
 * - `url` and `connectionString`: `postgresql://postgres@host:p/postgres` (the `postgres` superuser and the
 *   always-present `postgres` database; the `pg` client takes it as `connectionString`). pg_hba.conf lets every
 *   TCP client in with trust authentication, or, given a `password`, only with `scram-sha-256`; the URL is then
 *   `postgresql://postgres:password@host:p/postgres` (percent-encoded). The password is never logged. With
 *   `tls`, only TLS sessions are accepted (the URL does not say so: give the client `ssl: { ca }` from
 *   {@link PostgresServer.certificates}).
 *
 * Graceful stop is SIGINT (fast shutdown); {@link Server.close} also stops gracefully (5 s at most). The small
 * System V shared memory segment a SIGKILLed server leaves behind is removed on close (and by the watchdog).
 *
 * @throws {@link MissingBinaryError} when `postgres`/`initdb` are missing (package `postgresql`).
 * @throws {@link ServerStartError} with the log tail when initdb or the server fails.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const binaries = postgresBinaries();
  const user = serviceUser("postgres", "postgresql");
  return launch(
    "postgres",
    { ...options, stopTimeoutMs: options.stopTimeoutMs ?? 5000 },
    { nodes: 1, portsPerNode: 1 },
    async ({ root, host, ports, startTimeoutMs, stopTimeoutMs }) => {
      const port = ports[0]?.[0] ?? 0;
      const dir = join(root, "postgres-1");
      const dataDir = join(dir, "data");
      mkdirSync(dir, { recursive: true });
      mkdirSync(dataDir, { mode: 0o700 });
      chownTo(user, dataDir);
      const logFile = join(dir, "postgres.log");
      const shmIds: number[] = [];
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, LANG: "C", LC_ALL: "C", TZ: "UTC" };
      const identity = user === undefined ? {} : { uid: user.uid, gid: user.gid };
      const password = options.password;
      const pwFile = join(dir, "pwfile");
      if (password !== undefined) {
        writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
        chownTo(user, pwFile);
      }
      try {
        await runSetupCommand(
          "postgres-1 initdb",
          {
            command: binaries.initdb,
            args: [
              "-D",
              dataDir,
              "-A",
              "trust",
              "-U",
              "postgres",
              "-E",
              "UTF8",
              "--locale=C",
              "--no-sync",
              ...(password === undefined ? [] : [`--pwfile=${pwFile}`]),
            ],
            cwd: dir,
            env,
            ...identity,
            logFile,
          },
          startTimeoutMs,
        );
      } finally {
        rmSync(pwFile, { force: true });
      }
      const hba = join(dataDir, "pg_hba.conf");
      writeFileSync(hba, hbaFile(password !== undefined, options.tls === true));
      chmodSync(hba, 0o600);
      chownTo(user, hba);
      const certificates = options.tls ? await serverCertificates(join(root, "tls"), [host]) : undefined;
      if (certificates !== undefined) chownTo(user, certificates.serverCertFile, certificates.serverKeyFile);
      const tlsSettings: Record<string, string> =
        certificates === undefined
          ? {}
          : {
              ssl: "on",
              ssl_cert_file: certificates.serverCertFile,
              ssl_key_file: certificates.serverKeyFile,
              ssl_ca_file: certificates.caFile,
            };
      const settings: Record<string, string | number | boolean> = {
        port,
        listen_addresses: host,
        unix_socket_directories: "",
        fsync: "off",
        synchronous_commit: "off",
        full_page_writes: "off",
        max_connections: options.maxConnections ?? 300,
        ...tlsSettings,
        ...options.settings,
      };
      const node = new ManagedNode({
        id: 1,
        name: "postgres-1",
        host,
        secrets: options.password === undefined ? [] : [options.password],
        port,
        ports: { client: port },
        dir,
        logFile,
        spec: () => ({
          command: binaries.postgres,
          args: [
            "-D",
            dataDir,
            ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`]),
          ],
          cwd: dir,
          env,
          ...identity,
          logFile,
        }),
        isReady: () => acceptsSessions(host, port, clientFiles(certificates)),
        onReady: () => {
          const id = postgresShmId(dataDir);
          if (id !== undefined && !shmIds.includes(id)) {
            shmIds.push(id);
            janitor.trackShm(id);
          }
        },
        stopSignal: "SIGINT",
        startTimeoutMs,
        stopTimeoutMs,
      });
      const auth = password === undefined ? "" : `:${encodeURIComponent(password)}`;
      const url = `postgresql://postgres${auth}@${host}:${port}/postgres`;
      const afterStop = (): void => {
        for (const id of shmIds.splice(0)) {
          removeOrphanedShm(id);
          janitor.untrackShm(id);
        }
      };
      return { url, connectionString: url, nodes: [node], gracefulClose: true, afterStop, certificates };
    },
    (dir, reservation, parts) => new PostgresServerImpl(dir, reservation, parts, options.password),
  );
}

/** Options of {@link securePostgres}: those of {@link startPostgres} but the password and TLS it sets itself. */
export type SecurePostgresOptions = Omit<PostgresOptions, "password" | "tls">;

/**
 * A PostgreSQL that only accepts TLS (`hostssl`) with `scram-sha-256` password authentication:
 * {@link startPostgres} with `tls` and a fresh password for `postgres`.
 *
 * - `url`: `postgresql://postgres:<password>@host:p/postgres?ca=<caFile>` — the client verifies the server
 *   with the test CA (the rollcall URL parameter `ca`);
 * - `secrets`: the password;
 * - `refused`: a wrong password, an unknown user, no password ({@link credentialRefusals}; user `postgres`
 *   when the URL names none), and the right password without TLS (the server only accepts TLS sessions).
 */
export async function securePostgres(
  options: SecurePostgresOptions = {},
): Promise<SecureServer<PostgresServer>> {
  const password = awkwardPassword("sql");
  const server = await startPostgres({ ...options, password, tls: true });
  const host = nodeAddress(server);
  const ca = `ca=${encodeURIComponent((server.certificates as CertificateFiles).caFile)}`;
  const base = `postgresql://postgres:${encodeURIComponent(password)}@${host}/postgres`;
  return secureServer(
    server,
    `${base}?${ca}`,
    [password],
    [
      ...credentialRefusals(
        (userinfo) => `postgresql://${userinfo || "postgres"}@${host}/postgres?${ca}`,
        "postgres",
        password,
      ),
      { why: "no TLS (the server only accepts TLS sessions)", url: base },
    ],
  );
}
