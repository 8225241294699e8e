import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { redisBinary } from "./binaries.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { tcpExchange } from "./probes.js";
import { launch, ManagedServer, type ServerParts } from "./server.js";
import type { CommonServerOptions, Server } from "./types.js";

/** An extra Redis ACL user. */
export interface RedisAclUser {
  /** User name. */
  name: string;
  /** Password. */
  password: string;
  /** ACL rules. Default `~* &* +@all` (every key, channel and command). */
  rules?: string;
}

/** Options of {@link startRedis}. */
export interface RedisOptions extends CommonServerOptions {
  /** Password of the `default` user (`requirepass`). Default: none. */
  password?: string;
  /** Extra ACL users. */
  aclUsers?: readonly RedisAclUser[];
  /** Extra command-line configuration, such as `["--maxmemory", "64mb"]`. */
  extraArgs?: readonly string[];
}

/** A running Redis server. */
export interface RedisServer extends Server {
  readonly kind: "redis";
  /** The `default` user's password, if one was set. */
  readonly password: string | undefined;
}

class RedisServerImpl extends ManagedServer implements RedisServer {
  declare readonly kind: "redis";
  readonly password: string | undefined;

  constructor(dir: string, reservation: PortReservation, parts: ServerParts, password: string | undefined) {
    super("redis", dir, reservation, parts);
    this.password = password;
  }
}

/** Ready when it answers PING (NOAUTH also means it is up and serving); LOADING means not yet. */
async function answersPing(port: number): Promise<boolean> {
  const reply = (
    await tcpExchange(port, "PING\r\n", { timeoutMs: 1000, until: (bytes) => bytes.includes("\r\n") })
  ).toString("utf8");
  return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
}

/**
 * Start a throwaway Redis server from Debian's `redis-server` package. All configuration is on the command
 * line (redis.conf is never read): `--bind 127.0.0.1`, no RDB snapshots, and an append-only file with
 * `appendfsync no`, so the data survives {@link ServerNode.restart} (and even {@link ServerNode.kill}).
 *
 * Resolves when the server answers `PING`.
 *
 * - `url` and `connectionString`: `redis://127.0.0.1:p`, or `redis://:password@127.0.0.1:p` with a password
 *   (ioredis takes either)
 *
 * @throws {@link MissingBinaryError} when `redis-server` is missing (package `redis-server`).
 * @throws {@link ServerStartError} with the log tail when it fails to start.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const redis = redisBinary();
  return launch(
    "redis",
    options,
    { nodes: 1, portsPerNode: 1 },
    async ({ root, ports, startTimeoutMs, stopTimeoutMs }) => {
      const port = ports[0]?.[0] ?? 0;
      const dir = join(root, "redis-1");
      const dataDir = join(dir, "data");
      mkdirSync(dataDir, { recursive: true });
      const logFile = join(dir, "redis.log");
      const args = [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dataDir,
        "--daemonize",
        "no",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "no",
        "--logfile",
        "",
        ...(options.password === undefined ? [] : ["--requirepass", options.password]),
        ...(options.aclUsers ?? []).flatMap((user) => [
          "--user",
          user.name,
          "on",
          `>${user.password}`,
          ...(user.rules ?? "~* &* +@all").split(/\s+/),
        ]),
        ...(options.extraArgs ?? []),
      ];
      const node = new ManagedNode({
        id: 1,
        name: "redis-1",
        port,
        ports: { client: port },
        dir,
        logFile,
        spec: () => ({ command: redis, args, cwd: dir, env: process.env, logFile }),
        isReady: () => answersPing(port),
        stopSignal: "SIGTERM",
        startTimeoutMs,
        stopTimeoutMs,
      });
      const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`;
      const url = `redis://${auth}127.0.0.1:${port}`;
      return { url, connectionString: url, nodes: [node] };
    },
    (dir, reservation, parts) => new RedisServerImpl(dir, reservation, parts, options.password),
  );
}
