import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { postgresBinaries } from "./binaries.js";
import { type CertificateFiles, serverCertificates } from "./certificates.js";
import { janitor } from "./janitor.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { acceptsSessions } from "./postgres-probe.js";
import { clientFiles } from "./probes.js";
import { launch, ManagedServer, type ServerParts } from "./server.js";
import { runSetupCommand } from "./setup-command.js";
import { postgresShmId, removeOrphanedShm } from "./sysv-shm.js";
import type { CommonServerOptions, Server } from "./types.js";
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
