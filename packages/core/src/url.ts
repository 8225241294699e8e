import type { ConnectionUrl, HostPort } from "./driver/connection-url.js";
import type { BackendDefinition } from "./driver/driver.js";
import {
  acceptedParamNames,
  COMMON_PARAMS,
  type CommonKey,
  type ParamSchema,
  type ParamValues,
  parseParams,
  redactSecretParams,
  secretParamNames,
} from "./driver/url-params.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { urlSecrets } from "./errors/scrub-secrets.js";
import type { Logger } from "./types.js";
import { MAX_METADATA_BYTES } from "./validation.js";

export { COMMON_PARAMS };

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

// The common keys' ranges; their defaults depend on the backend and on each other, so they are applied below.
const COMMON_SCHEMA = {
  sessionTimeout: { type: "integer", min: 100, max: 3_600_000 },
  retryInterval: { type: "integer", min: 10, max: 600_000 },
  connectTimeout: { type: "integer", min: 100, max: 600_000 },
  pollInterval: { type: "integer", min: 10, max: 600_000 },
  maxMetadataBytes: { type: "integer", min: 2, max: MAX_METADATA_BYTES },
} as const satisfies ParamSchema;

// A backend's `params` as a schema: the deprecated list of names allows those keys as plain strings.
function backendSchema(backend: BackendDefinition): ParamSchema {
  const params = backend.params ?? [];
  if (!Array.isArray(params)) return params as ParamSchema;
  return Object.fromEntries((params as readonly string[]).map((key) => [key, { type: "string" } as const]));
}

/** Everything {@link readUrlOptions} reads from a URL. */
export interface UrlOptions {
  /** The common options, with the backend's defaults applied. */
  common: CommonOptions;
  /** The backend's own options, checked and defaulted by its {@link BackendDefinition.params} schema. */
  options: ParamValues<ParamSchema>;
  /** Which common keys the URL itself gave. */
  given: ReadonlySet<CommonKey>;
  /** The URL's secrets (its password, the values of the schema's secret keys), for core to scrub. */
  secrets: readonly string[];
}

/**
 * Reads every query key of `url`: refuses repeated keys and keys that neither core nor the backend
 * knows, reads the common keys (removing them from `url.params`) with the backend's defaults, and
 * parses the backend's own keys with its schema — logging a deprecation warning to `logger` for each
 * old spelling. Secret keys of the schema are masked in `url.redacted` before anything can fail.
 * @throws RollcallError `INVALID_ARGUMENT` naming the key and what is allowed
 */
export function readUrlOptions(url: ConnectionUrl, backend: BackendDefinition, logger?: Logger): UrlOptions {
  const schema = backendSchema(backend);
  url.redacted = redactSecretParams(url.redacted, schema);
  const secrets = urlSecrets(url, secretParamNames(schema));
  const accepted = new Set<string>([...COMMON_PARAMS, ...acceptedParamNames(schema)]);
  for (const key of new Set(url.params.keys())) {
    if (url.params.getAll(key).length > 1) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: ${key} is given more than once`,
      );
    }
    if (!accepted.has(key)) {
      const known = [...COMMON_PARAMS, ...Object.keys(schema)].join(", ");
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: unknown option ${JSON.stringify(key)} for ${backend.name}; known options: ${known}`,
      );
    }
  }
  const given = new Set(COMMON_PARAMS.filter((key) => url.params.has(key)));
  const read = parseParams(url, COMMON_SCHEMA);
  const sessionTimeout = read.sessionTimeout ?? backend.defaultSessionTimeout;
  const retryInterval = read.retryInterval ?? backend.defaultRetryInterval ?? 1000;
  const connectTimeout = read.connectTimeout ?? Math.max(10_000, sessionTimeout * 2);
  const pollInterval = read.pollInterval ?? Math.max(50, Math.min(1000, Math.floor(sessionTimeout / 4)));
  const maxMetadataBytes = read.maxMetadataBytes ?? MAX_METADATA_BYTES;
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
  const options = parseParams(url, schema, logger === undefined ? {} : { logger });
  return {
    common: { sessionTimeout, retryInterval, namespace, connectTimeout, pollInterval, maxMetadataBytes },
    options,
    given,
    secrets,
  };
}

/**
 * Reads the common query keys from `url` (removing them from `url.params`), applies the backend's
 * defaults, and rejects keys that neither core nor the backend knows and bad values of the backend's
 * own keys: {@link readUrlOptions} without the backend's values.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function readCommonOptions(url: ConnectionUrl, backend: BackendDefinition): CommonOptions {
  return readUrlOptions(url, backend).common;
}
