import type { ConnectionUrl, HostPort } from "./driver/connection-url.js";
import type { BackendDefinition } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { MAX_METADATA_BYTES } from "./validation.js";

/** Query keys that mean the same on every backend. */
export const COMMON_PARAMS = [
  "sessionTimeout",
  "retryInterval",
  "namespace",
  "connectTimeout",
  "pollInterval",
  "maxMetadataBytes",
] as const;

/** The common options read from a URL, with defaults applied. */
export interface CommonOptions {
  /** Session timeout in ms. */
  sessionTimeout: number;
  /** Base delay in ms before re-opening an expired session (backoff and jitter are added). */
  retryInterval: number;
  /** Namespace every group lives under. */
  namespace: string;
  /** How long `connect()` waits for the first session, in ms. */
  connectTimeout: number;
  /** Poll interval in ms for backends whose watch is `poll`. */
  pollInterval: number;
  /** Metadata size limit in bytes (at most 64 KiB). */
  maxMetadataBytes: number;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]*)$/;
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,7}$/;

function redactUserinfo(text: string): string {
  // Up to the last "@" before any "?" or "#": a password with an unescaped "/" or "@" is hidden too.
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^?#]*)@/i, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/**
 * Removes any password from a URL string, for messages and logs.
 * @example redactUrl("redis://app:s3cret@10.0.0.1:6379") // "redis://app:***@10.0.0.1:6379"
 */
export function redactUrl(url: string): string {
  return redactUserinfo(url);
}

function decode(part: string, what: string, redacted: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RollcallError("INVALID_ARGUMENT", `invalid URL ${redacted}: the ${what} has a bad %-escape`);
  }
}

/**
 * Parses `scheme://[user[:password]@]host[:port][,host[:port]…][/path][?query]` without losing the
 * multi-host authority that WHATWG URL rejects.
 * @throws RollcallError `INVALID_ARGUMENT` naming what was wrong (never the password)
 */
export function parseUrl(input: string | URL): ConnectionUrl {
  if (typeof input !== "string" && !(input instanceof URL)) {
    throw new RollcallError("INVALID_ARGUMENT", "url must be a string or a URL");
  }
  const text = String(input).trim();
  const redacted = redactUserinfo(text);
  const match = SCHEME.exec(text);
  if (!match) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${JSON.stringify(redacted)}: expected scheme://host[:port]/… (e.g. zookeeper://127.0.0.1:2181/servicegroups)`,
    );
  }
  const scheme = (match[1] ?? "").toLowerCase();
  let rest = match[2] ?? "";
  const hash = rest.indexOf("#");
  if (hash !== -1) rest = rest.slice(0, hash);
  let query = "";
  const q = rest.indexOf("?");
  if (q !== -1) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf("/");
  let authority = slash === -1 ? rest : rest.slice(0, slash);
  const rawPath = slash === -1 ? "" : rest.slice(slash);
  let username: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf("@");
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(":");
    username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), "user name", redacted);
    if (colon !== -1) password = decode(userinfo.slice(colon + 1), "password", redacted);
  }
  const hosts: HostPort[] = [];
  if (authority !== "") {
    for (const part of authority.split(",")) {
      const portMatch = /^(.*?)(?::(\d*))?$/.exec(part);
      const host = portMatch?.[1] ?? "";
      const port = portMatch?.[2];
      if (!HOST.test(host) || host === "") {
        // An "@" after the host means user info with an unescaped "/": the "host" may hold a password.
        const shown = rawPath.includes("@")
          ? "(percent-encode / ? # @ in the user name and password)"
          : JSON.stringify(part);
        throw new RollcallError(
          "INVALID_ARGUMENT",
          `invalid URL ${JSON.stringify(redacted)}: bad host ${shown}`,
        );
      }
      const entry: HostPort = { host: host.startsWith("[") ? host.slice(1, -1) : host };
      if (port !== undefined && port !== "") {
        const n = Number(port);
        if (!Number.isInteger(n) || n < 1 || n > 65535) {
          throw new RollcallError(
            "INVALID_ARGUMENT",
            `invalid URL ${JSON.stringify(redacted)}: port ${port} is not 1–65535`,
          );
        }
        entry.port = n;
      }
      hosts.push(entry);
    }
  }
  const result: ConnectionUrl = {
    scheme,
    hosts,
    path: decode(rawPath, "path", redacted),
    params: new URLSearchParams(query),
    redacted,
  };
  if (username !== undefined) result.username = username;
  if (password !== undefined) {
    // Non-enumerable: a console.log or JSON.stringify of the parsed URL never shows it.
    Object.defineProperty(result, "password", { value: password, enumerable: false });
  }
  return result;
}

function intParam(url: ConnectionUrl, key: string, fallback: number, min: number, max: number): number {
  const raw = url.params.get(key);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/**
 * Reads the common query keys from `url` (removing them from `url.params`), applies the backend's
 * defaults, and rejects keys that neither core nor the backend knows.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function readCommonOptions(url: ConnectionUrl, backend: BackendDefinition): CommonOptions {
  for (const key of new Set(url.params.keys())) {
    if (url.params.getAll(key).length > 1) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: ${key} is given more than once`,
      );
    }
    if (!(COMMON_PARAMS as readonly string[]).includes(key) && !(backend.params ?? []).includes(key)) {
      const known = [...COMMON_PARAMS, ...(backend.params ?? [])].join(", ");
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: unknown option ${JSON.stringify(key)} for ${backend.name}; known options: ${known}`,
      );
    }
  }
  const sessionTimeout = intParam(url, "sessionTimeout", backend.defaultSessionTimeout, 100, 3_600_000);
  const retryInterval = intParam(url, "retryInterval", backend.defaultRetryInterval ?? 1000, 10, 600_000);
  const connectTimeout = intParam(url, "connectTimeout", Math.max(10_000, sessionTimeout * 2), 100, 600_000);
  const pollInterval = intParam(
    url,
    "pollInterval",
    Math.max(50, Math.min(1000, Math.floor(sessionTimeout / 4))),
    10,
    600_000,
  );
  const maxMetadataBytes = intParam(url, "maxMetadataBytes", MAX_METADATA_BYTES, 2, MAX_METADATA_BYTES);
  let namespace = url.params.get("namespace");
  if (namespace === null && backend.pathIsNamespace && url.path !== "" && url.path !== "/") {
    namespace = url.path.replace(/^\/+|\/+$/g, "");
  }
  namespace ??= backend.defaultNamespace ?? "rollcall";
  if (!NAMESPACE.test(namespace)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: namespace ${JSON.stringify(namespace)} must be up to 8 segments of [A-Za-z0-9._-] separated by /`,
    );
  }
  for (const key of COMMON_PARAMS) url.params.delete(key);
  return { sessionTimeout, retryInterval, namespace, connectTimeout, pollInterval, maxMetadataBytes };
}
