import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { redisBinary } from "./binaries.js";
import { type CertificateFiles, serverCertificates } from "./certificates.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { clientFiles, type TlsFiles, tcpExchange } from "./probes.js";
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
  /**
   * Serve only TLS: a throwaway PKI ({@link createCertificates}) is made in the server's directory, the
   * server listens with `--tls-port` (plain `--port 0`) with its certificate and `--tls-auth-clients optional`
   * (a client certificate is verified when presented, not required), and the URL becomes `rediss://…`.
   * Clients trust {@link RedisServer.certificates}' `caFile` (the rollcall URL parameter `tlsCaFile`).
   * Default false.
   */
  tls?: boolean;
}

/** A running Redis server. */
export interface RedisServer extends Server {
  readonly kind: "redis";
  /** The `default` user's password, if one was set. */
  readonly password: string | undefined;
  /** With `tls`, the PEM files (`caFile` verifies the server); undefined without `tls`. */
  readonly certificates: CertificateFiles | undefined;
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
async function answersPing(host: string, port: number, tls: TlsFiles | undefined): Promise<boolean> {
  const reply = (
    await tcpExchange({ host, port, tls }, "PING\r\n", {
      timeoutMs: 1000,
      until: (bytes) => bytes.includes("\r\n"),
    })
  ).toString("utf8");
  return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
}

/**
 * Start a throwaway Redis server from Debian's `redis-server` package. All configuration is on the command
 * line (redis.conf is never read): `--bind host` (127.0.0.1 unless told), no RDB snapshots, and an append-only file with
 * `appendfsync no`, so the data survives {@link ServerNode.restart} (and even {@link ServerNode.kill}).
 *
 * Resolves when the server answers `PING`.
 *
 * - `url` and `connectionString`: `redis://host:p`, or `redis://:password@host:p` with a password
 *   (`rediss://` with `tls`)
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
    async ({ root, host, ports, startTimeoutMs, stopTimeoutMs }) => {
      const port = ports[0]?.[0] ?? 0;
      const dir = join(root, "redis-1");
      const dataDir = join(dir, "data");
      mkdirSync(dataDir, { recursive: true });
      const logFile = join(dir, "redis.log");
      const certificates = options.tls ? await serverCertificates(join(root, "tls"), [host]) : undefined;
      const listen =
        certificates === undefined
          ? ["--port", String(port)]
          : [
              ...["--port", "0", "--tls-port", String(port)],
              ...[
                "--tls-cert-file",
                certificates.serverCertFile,
                "--tls-key-file",
                certificates.serverKeyFile,
              ],
              ...["--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", "optional"],
            ];
      const args = [
        ...listen,
        "--bind",
        host,
        // Protected mode refuses every client that is not on loopback while the default user has no
        // password: a lab gateway is an address of this machine that only its own lab hosts can reach.
        ...(host === "127.0.0.1" ? [] : ["--protected-mode", "no"]),
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
      const secrets = [
        ...(options.password === undefined ? [] : [options.password]),
        ...(options.aclUsers ?? []).map((user) => user.password),
      ];
      const node = new ManagedNode({
        id: 1,
        name: "redis-1",
        host,
        secrets,
        port,
        ports: { client: port },
        dir,
        logFile,
        spec: () => ({ command: redis, args, cwd: dir, env: process.env, logFile, secrets }),
        isReady: () => answersPing(host, port, clientFiles(certificates)),
        stopSignal: "SIGTERM",
        startTimeoutMs,
        stopTimeoutMs,
      });
      const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`;
      const url = `${certificates === undefined ? "redis" : "rediss"}://${auth}${host}:${port}`;
      return { url, connectionString: url, nodes: [node], certificates };
    },
    (dir, reservation, parts) => new RedisServerImpl(dir, reservation, parts, options.password),
  );
}
