import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import {
  type ConnectionUrl,
  defineParams,
  type ParamValues,
  parseParams,
  RollcallError,
  readPemFile,
} from "@rollcall/core/driver";
import type { RedisOptions } from "ioredis";

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
/** Default cap of a group's change log (entries). */
export const DEFAULT_LOG_LENGTH = 1000;

/**
 * The backend's own URL query keys (core handles the common ones). The TLS keys are spelled as on every
 * backend — `ca`, `rejectUnauthorized`, the `node:tls` option each one sets; `tlsCaFile` and
 * `tlsRejectUnauthorized` are their old names (accepted with a deprecation warning).
 */
export const REDIS_PARAMS = defineParams({
  sentinel: { type: "string", pattern: /[A-Za-z0-9._-]{1,128}/, expected: "a master name" },
  sentinels: { type: "string" },
  sentinelAuth: { type: "enum", values: ["none", "inherit"] },
  rejectUnauthorized: { type: "boolean", aliases: ["tlsRejectUnauthorized"] },
  ca: { type: "file", aliases: ["tlsCaFile"] },
  logLength: { type: "integer", min: 10, max: 1_000_000, default: DEFAULT_LOG_LENGTH },
});

/** The typed values of {@link REDIS_PARAMS}. */
export type RedisParams = ParamValues<typeof REDIS_PARAMS>;

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
  /** PEM file with the CA certificates to trust (`ca=`), read when the session is opened. */
  caFile: string | undefined;
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

/**
 * Reads a `redis://` / `rediss://` URL:
 * `redis[s]://[user[:password]@]host[:port][/db][?sentinel=<master>&sentinels=h:p,h:p&…]`.
 * `params` are the URL's {@link REDIS_PARAMS} as core parsed them (`config.options`); without them
 * they are parsed from `url.params` here.
 * @throws RollcallError `INVALID_ARGUMENT` naming what is wrong (never the password)
 */
export function readRedisTarget(
  url: ConnectionUrl,
  params: RedisParams = parseParams(url, REDIS_PARAMS),
): RedisTarget {
  const tls = url.scheme === "rediss";
  const path = url.path.replace(/^\/+|\/+$/g, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) {
    throw invalid(
      url,
      `the path is the database number (e.g. /0); use namespace=… for a namespace, got ${JSON.stringify(url.path)}`,
    );
  }
  const db = path === "" ? 0 : Number(path);
  const { logLength, sentinel: master } = params;
  const rejectUnauthorized = params.rejectUnauthorized ?? true;
  const caFile = params.ca;
  if (!tls && (params.rejectUnauthorized !== undefined || caFile !== undefined)) {
    throw invalid(url, "rejectUnauthorized and ca need the rediss:// scheme");
  }
  const options: RedisOptions = { db };
  if (url.username !== undefined && url.username !== "") options.username = url.username;
  if (url.password !== undefined && url.password !== "") options.password = url.password;
  const sentinelAuth = params.sentinelAuth ?? "none";
  if (master === undefined) {
    if (params.sentinels !== undefined || params.sentinelAuth !== undefined)
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
      caFile,
      logLength,
    };
  }
  const listed = params.sentinels;
  const sentinels =
    listed !== undefined
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
    caFile,
    logLength,
  };
}

/** Adds the CA file's certificates to the TLS options (reads the file: call it from `open()`). */
export async function loadTlsCa(target: RedisTarget): Promise<void> {
  if (target.caFile === undefined) return;
  const ca = await readPemFile("ca", target.caFile);
  const add = (tls: ConnectionOptions | undefined): ConnectionOptions => ({ ...tls, ca });
  target.options.tls = add(target.options.tls);
  if (target.sentinel) target.options.sentinelTLS = add(target.options.sentinelTLS);
  target.caFile = undefined;
}
