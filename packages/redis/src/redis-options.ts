import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { type ConnectionUrl, RollcallError } from "@rollcall/core/driver";
import type { RedisOptions } from "ioredis";

/** The backend's own URL query keys (core handles the common ones). */
export const REDIS_PARAMS = [
  "sentinel",
  "sentinels",
  "sentinelAuth",
  "tlsRejectUnauthorized",
  "tlsCaFile",
  "logLength",
] as const;

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
/** Default cap of a group's change log (entries). */
export const DEFAULT_LOG_LENGTH = 1000;

/** What the driver needs to know to connect, read from the URL without any I/O. */
export interface RedisTarget {
  /** ioredis options without the per-session parts (timeouts, retry strategy, TLS CA). */
  options: RedisOptions;
  /** `host:port` (or `sentinel <master> via host:port,…`) for messages; never contains credentials. */
  where: string;
  /** Whether this is a Sentinel deployment (failover may lose acknowledged writes). */
  sentinel: boolean;
  /** Whether TLS is used (`rediss://`). */
  tls: boolean;
  /** PEM file with the CA certificates to trust, read when the session is opened. */
  tlsCaFile: string | undefined;
  /** Cap of each group's change log. */
  logLength: number;
}

function invalid(url: ConnectionUrl, message: string): RollcallError {
  return new RollcallError("INVALID_ARGUMENT", `invalid URL ${url.redacted}: ${message}`);
}

function parseHostList(
  url: ConnectionUrl,
  text: string,
  defaultPort: number,
): { host: string; port: number }[] {
  return text.split(",").map((part) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::(\d{1,5}))?$/.exec(part.trim());
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (!match || port < 1 || port > 65535)
      throw invalid(url, `sentinels must be host:port,host:port…, got ${JSON.stringify(part)}`);
    const host = match[1] ?? "";
    return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
  });
}

function booleanParam(url: ConnectionUrl, key: string, fallback: boolean): boolean {
  const raw = url.params.get(key);
  if (raw === null) return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw invalid(url, `${key} must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Reads a `redis://` / `rediss://` URL:
 * `redis[s]://[user[:password]@]host[:port][/db][?sentinel=<master>&sentinels=h:p,h:p&…]`.
 * @throws RollcallError `INVALID_ARGUMENT` naming what is wrong (never the password)
 */
export function readRedisTarget(url: ConnectionUrl): RedisTarget {
  const tls = url.scheme === "rediss";
  const path = url.path.replace(/^\/+|\/+$/g, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) {
    throw invalid(
      url,
      `the path is the database number (e.g. /0); use namespace=… for a namespace, got ${JSON.stringify(url.path)}`,
    );
  }
  const db = path === "" ? 0 : Number(path);
  const logLengthRaw = url.params.get("logLength");
  const logLength = logLengthRaw === null ? DEFAULT_LOG_LENGTH : Number(logLengthRaw);
  if (!Number.isInteger(logLength) || logLength < 10 || logLength > 1_000_000) {
    throw invalid(
      url,
      `logLength must be an integer from 10 to 1000000, got ${JSON.stringify(logLengthRaw)}`,
    );
  }
  const rejectUnauthorized = booleanParam(url, "tlsRejectUnauthorized", true);
  const tlsCaFile = url.params.get("tlsCaFile") ?? undefined;
  if (!tls && (url.params.has("tlsRejectUnauthorized") || tlsCaFile !== undefined)) {
    throw invalid(url, "tlsRejectUnauthorized and tlsCaFile need the rediss:// scheme");
  }
  const options: RedisOptions = { db };
  if (url.username !== undefined && url.username !== "") options.username = url.username;
  if (url.password !== undefined && url.password !== "") options.password = url.password;
  const master = url.params.get("sentinel");
  const sentinelAuth = url.params.get("sentinelAuth") ?? "none";
  if (sentinelAuth !== "none" && sentinelAuth !== "inherit") {
    throw invalid(url, `sentinelAuth must be none or inherit, got ${JSON.stringify(sentinelAuth)}`);
  }
  if (master === null) {
    if (url.params.has("sentinels") || url.params.has("sentinelAuth"))
      throw invalid(url, "sentinels and sentinelAuth need sentinel=<master name>");
    if (url.hosts.length > 1)
      throw invalid(
        url,
        "several hosts are only allowed with sentinel=<master name> (they are the sentinels)",
      );
    const host = url.hosts[0]?.host ?? "127.0.0.1";
    const port = url.hosts[0]?.port ?? DEFAULT_PORT;
    options.host = host;
    options.port = port;
    // SNI takes host names only (RFC 6066); certificates for an IP are checked against its SAN anyway.
    if (tls)
      options.tls = isIP(host) === 0 ? { servername: host, rejectUnauthorized } : { rejectUnauthorized };
    return {
      options,
      where: `${host.includes(":") ? `[${host}]` : host}:${port}`,
      sentinel: false,
      tls,
      tlsCaFile,
      logLength,
    };
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(master))
    throw invalid(url, `sentinel must be a master name, got ${JSON.stringify(master.slice(0, 40))}`);
  const listed = url.params.get("sentinels");
  const sentinels =
    listed !== null
      ? parseHostList(url, listed, DEFAULT_SENTINEL_PORT)
      : url.hosts.map((h) => ({ host: h.host, port: h.port ?? DEFAULT_SENTINEL_PORT }));
  if (sentinels.length === 0)
    throw invalid(url, "sentinel=<master> needs sentinels=host:port,… or hosts in the URL");
  options.name = master;
  options.sentinels = sentinels;
  if (sentinelAuth === "inherit") {
    if (options.username !== undefined) options.sentinelUsername = options.username;
    if (options.password !== undefined) options.sentinelPassword = options.password;
  }
  if (tls) {
    options.tls = { rejectUnauthorized };
    options.enableTLSForSentinelMode = true;
    options.sentinelTLS = { rejectUnauthorized };
  }
  const list = sentinels.map((s) => `${s.host}:${s.port}`).join(",");
  return {
    options,
    where: `sentinel master ${master} via ${list}`,
    sentinel: true,
    tls,
    tlsCaFile,
    logLength,
  };
}

/** Adds the CA file's certificates to the TLS options (reads the file: call it from `open()`). */
export async function loadTlsCa(target: RedisTarget): Promise<void> {
  if (target.tlsCaFile === undefined) return;
  let ca: Buffer;
  try {
    ca = await readFile(target.tlsCaFile);
  } catch (error) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `cannot read tlsCaFile ${JSON.stringify(target.tlsCaFile)}: ${(error as Error).message}`,
    );
  }
  const add = (tls: ConnectionOptions | undefined): ConnectionOptions => ({ ...tls, ca });
  target.options.tls = add(target.options.tls);
  if (target.sentinel) target.options.sentinelTLS = add(target.options.sentinelTLS);
  target.tlsCaFile = undefined;
}
