import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { postgresBinaries } from "./binaries.js";
import { janitor } from "./janitor.js";
import { ManagedNode } from "./node.js";
import { tcpExchange } from "./probes.js";
import { launch, ManagedServer } from "./server.js";
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
}

/** A running PostgreSQL server. */
export interface PostgresServer extends Server {
  readonly kind: "postgres";
}

class PostgresServerImpl extends ManagedServer implements PostgresServer {
  declare readonly kind: "postgres";
}

/** Bytes of a protocol-3.0 StartupMessage for user postgres, database postgres. */
function startupMessage(): Buffer {
  const parameters = Buffer.from("user\0postgres\0database\0postgres\0\0", "latin1");
  const message = Buffer.alloc(8 + parameters.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(196_608, 4);
  parameters.copy(message, 8);
  return message;
}

/** The first message types the server sends back, stopping at ReadyForQuery or an error. */
function replyTypes(bytes: Buffer): string[] {
  const types: string[] = [];
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const type = String.fromCharCode(bytes[offset] ?? 0);
    types.push(type);
    if (type === "Z" || type === "E") break;
    offset += 1 + bytes.readInt32BE(offset + 1);
  }
  return types;
}

/** Ready when a session for user postgres reaches ReadyForQuery (not "the database system is starting up"). */
async function acceptsSessions(port: number): Promise<boolean> {
  const reply = await tcpExchange(port, startupMessage(), {
    timeoutMs: 1000,
    until: (bytes) => {
      const types = replyTypes(bytes);
      return types.includes("Z") || types.includes("E");
    },
  });
  return replyTypes(reply).includes("Z");
}

/**
 * Start a throwaway PostgreSQL server from Debian's `postgresql` package (the newest
 * /usr/lib/postgresql/N/bin). `initdb -A trust -U postgres --no-sync`, then `postgres` in the foreground
 * with `listen_addresses=127.0.0.1`, no Unix socket, `fsync=off`, `synchronous_commit=off`,
 * `full_page_writes=off` and `max_connections=300`. When the caller is root, initdb and the server run as
 * the `postgres` user (node's `uid`/`gid` spawn options, which drop privileges as `runuser` would, while
 * keeping the server's real pid for kill/pause); the temporary directory is reachable by that user.
 *
 * Resolves when a session for user `postgres` reaches ReadyForQuery.
 *
 * - `url` and `connectionString`: `postgresql://postgres@127.0.0.1:p/postgres` (trust authentication, the
 *   `postgres` superuser and the always-present `postgres` database; the `pg` client takes it as
 *   `connectionString`)
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
    async ({ root, ports, startTimeoutMs, stopTimeoutMs }) => {
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
      await runSetupCommand(
        "postgres-1 initdb",
        {
          command: binaries.initdb,
          args: ["-D", dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
          cwd: dir,
          env,
          ...identity,
          logFile,
        },
        startTimeoutMs,
      );
      const settings: Record<string, string | number | boolean> = {
        port,
        listen_addresses: "127.0.0.1",
        unix_socket_directories: "",
        fsync: "off",
        synchronous_commit: "off",
        full_page_writes: "off",
        max_connections: options.maxConnections ?? 300,
        ...options.settings,
      };
      const node = new ManagedNode({
        id: 1,
        name: "postgres-1",
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
        isReady: () => acceptsSessions(port),
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
      const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
      const afterStop = (): void => {
        for (const id of shmIds.splice(0)) {
          removeOrphanedShm(id);
          janitor.untrackShm(id);
        }
      };
      return { url, connectionString: url, nodes: [node], gracefulClose: true, afterStop };
    },
    (dir, reservation, parts) => new PostgresServerImpl("postgres", dir, reservation, parts),
  );
}
