import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { redisBinary } from "./binaries.js";
import { type CertificateFiles, serverCertificates } from "./certificates.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { clientFiles, type TlsFiles, tcpExchange } from "./probes.js";
import {
  awkwardPassword,
  credentialRefusals,
  nodeAddress,
  type SecureServer,
  secureServer,
} from "./secure.js";
import { launch, ManagedServer, type ServerParts } from "./server.js";
import { askNodes, numericLines, STATS_TIMEOUT_MS, StatsRefusedError } from "./stats.js";
import type { CommonServerOptions, Server, ServerStats } from "./types.js";

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
   * Clients trust {@link RedisServer.certificates}' `caFile` (the rollcall URL parameter `ca`).
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

  /**
   * One connection (TLS with the client certificate when the server has `tls`) sends `AUTH` with the
   * default user's password (when there is one), `INFO clients keyspace memory` and `QUIT`:
   * `connected_clients` minus this connection, and the keys of every database.
   */
  async stats(): Promise<ServerStats> {
    this.assertOpen();
    const commands = [
      ...(this.password === undefined ? [] : [["AUTH", this.password]]),
      ["INFO", "clients", "keyspace", "memory"],
      ["QUIT"],
    ];
    const payload = Buffer.concat(commands.map((words) => respCommand(words)));
    const tls = clientFiles(this.certificates);
    const { answers, unreachable } = await askNodes(this.nodes, async (node) => {
      const bytes = await tcpExchange({ host: node.host, port: node.port, tls }, payload, {
        timeoutMs: STATS_TIMEOUT_MS,
        until: (received) => respReplies(received, commands.length) !== undefined,
      });
      const replies = respReplies(bytes, commands.length);
      if (replies === undefined) throw new Error("redis: the connection closed before INFO was answered");
      const failed = replies.find((reply) => reply.error);
      if (failed !== undefined) {
        // LOADING: a restarted server still reading its append-only file
        if (failed.text.startsWith("LOADING")) return undefined;
        throw new StatsRefusedError(`redis: stats: ${failed.text}`);
      }
      return replies[commands.length - 2]?.text ?? "";
    });
    const info = answers[0]?.value ?? "";
    const fields = numericLines(info, /:/);
    const detail: Record<string, number> = {};
    let keys = 0;
    let expires = 0;
    for (const [, db, dbKeys, dbExpires] of info.matchAll(/^(db\d+):keys=(\d+),expires=(\d+)/gm)) {
      detail[`keys:${db}`] = Number(dbKeys);
      keys += Number(dbKeys);
      expires += Number(dbExpires);
    }
    return {
      connections: Math.max(0, (fields.get("connected_clients") ?? 1) - 1),
      objects: keys,
      detail: {
        keys,
        expires,
        ...detail,
        blockedClients: fields.get("blocked_clients") ?? 0,
        usedMemory: fields.get("used_memory") ?? 0,
        nodes: this.nodes.length,
        unreachable,
      },
    };
  }
}

/** A command as a RESP array of bulk strings. */
function respCommand(words: readonly string[]): Buffer {
  const parts = [`*${words.length}\r\n`];
  for (const word of words) parts.push(`$${Buffer.byteLength(word)}\r\n${word}\r\n`);
  return Buffer.from(parts.join(""), "utf8");
}

/** One RESP reply of a simple kind: a status, an error, an integer or a bulk string (null as ""). */
interface RespReply {
  error: boolean;
  text: string;
}

/** The first `count` replies in `bytes`, or undefined while they are incomplete. */
function respReplies(bytes: Buffer, count: number): RespReply[] | undefined {
  const replies: RespReply[] = [];
  let offset = 0;
  while (replies.length < count) {
    const end = bytes.indexOf("\r\n", offset);
    if (end < 0) return undefined;
    const type = String.fromCharCode(bytes[offset] ?? 0);
    const line = bytes.toString("utf8", offset + 1, end);
    offset = end + 2;
    if (type === "$") {
      const length = Number(line);
      if (length < 0) {
        replies.push({ error: false, text: "" });
        continue;
      }
      if (bytes.length < offset + length + 2) return undefined;
      replies.push({ error: false, text: bytes.toString("utf8", offset, offset + length) });
      offset += length + 2;
    } else {
      replies.push({ error: type === "-", text: line });
    }
  }
  return replies;
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

/** Options of {@link secureRedis}: those of {@link startRedis} but the credentials and TLS it sets itself. */
export type SecureRedisOptions = Omit<RedisOptions, "password" | "aclUsers" | "tls">;

/**
 * A Redis that serves only TLS and requires a password: {@link startRedis} with `tls`, a password for the
 * `default` user (`requirepass`) and an ACL user `app` (`~* &* +@all`), both with fresh passwords.
 *
 * - `url`: `rediss://app:<password>@host:p?ca=<caFile>` — the client verifies the server with the
 *   test CA (the rollcall URL parameter `ca`);
 * - `secrets`: both passwords;
 * - `refused`: `app` with a wrong password, an unknown user, no credentials ({@link credentialRefusals}),
 *   and `app` with its password but no `ca` (an unverified server).
 */
export async function secureRedis(options: SecureRedisOptions = {}): Promise<SecureServer<RedisServer>> {
  const password = awkwardPassword("redis");
  const defaultPassword = `default-${randomBytes(8).toString("hex")}`;
  const server = await startRedis({
    ...options,
    password: defaultPassword,
    aclUsers: [{ name: "app", password, rules: "~* &* +@all" }],
    tls: true,
  });
  const host = nodeAddress(server);
  const ca = `ca=${encodeURIComponent((server.certificates as CertificateFiles).caFile)}`;
  const url = `rediss://app:${encodeURIComponent(password)}@${host}?${ca}`;
  return secureServer(
    server,
    url,
    [password, defaultPassword],
    [
      ...credentialRefusals(
        (userinfo) => `rediss://${userinfo}${userinfo ? "@" : ""}${host}?${ca}`,
        "app",
        password,
      ),
      {
        why: "an unverified server (no ca=)",
        url: `rediss://app:${encodeURIComponent(password)}@${host}`,
      },
    ],
  );
}
