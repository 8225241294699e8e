import { readFile } from "node:fs/promises";
import { RollcallError } from "../errors/rollcall-error.js";
import type { Logger } from "../types.js";
import type { ConnectionUrl } from "./connection-url.js";
import type { DriverConfig } from "./driver.js";

/** Query keys that mean the same on every backend; core reads them. */
export const COMMON_PARAMS = [
  "sessionTimeout",
  "retryInterval",
  "namespace",
  "connectTimeout",
  "pollInterval",
  "maxMetadataBytes",
] as const;

/** One of the {@link COMMON_PARAMS}. */
export type CommonKey = (typeof COMMON_PARAMS)[number];

/** What every kind of {@link ParamSpec} can say. */
export interface ParamSpecBase {
  /**
   * Older spellings of this key that are still accepted. Each logs a deprecation warning naming the
   * new key (through the connection's logger, once per `connect()`); a URL that gives an old spelling
   * together with the new one, or two old ones, is refused with `INVALID_ARGUMENT`.
   */
  aliases?: readonly string[];
  /**
   * The value is a secret (a token, a password): error messages never echo it, and `url.redacted`
   * shows it as `***`.
   */
  secret?: boolean;
  /** Said in parentheses after what is allowed, in error messages: a unit or a pointer, e.g. `"ms"`. */
  hint?: string;
}

/** A whole number from `min` to `max`. */
export interface IntegerParam extends ParamSpecBase {
  type: "integer";
  /** Smallest value allowed. */
  min: number;
  /** Largest value allowed. */
  max: number;
  /** The value when the URL does not give the key; without it the value is `undefined`. */
  default?: number;
}

/** A finite number (fractions allowed) from `min` to `max`. */
export interface NumberParam extends ParamSpecBase {
  type: "number";
  /** Smallest value allowed. */
  min: number;
  /** Largest value allowed. */
  max: number;
  /** The value when the URL does not give the key; without it the value is `undefined`. */
  default?: number;
}

/** `true` / `1` or `false` / `0`. */
export interface BooleanParam extends ParamSpecBase {
  type: "boolean";
  /** The value when the URL does not give the key; without it the value is `undefined`. */
  default?: boolean;
}

/** One of a fixed list of words. */
export interface EnumParam<V extends string = string> extends ParamSpecBase {
  type: "enum";
  /** The words allowed, in the order error messages list them. */
  values: readonly V[];
  /**
   * Older words still accepted (they are not listed in error messages): each maps to the advice the
   * deprecation warning gives, e.g. `{ insecure: "use ssl=true&rejectUnauthorized=false" }`.
   */
  deprecatedValues?: Readonly<Record<string, string>>;
  /** The value when the URL does not give the key; without it the value is `undefined`. */
  default?: V;
}

/** Free text, optionally matching a pattern. */
export interface StringParam extends ParamSpecBase {
  type: "string";
  /** What the whole value must match. */
  pattern?: RegExp;
  /** What `pattern` means, for error messages: `"<key> must be <expected>, got …"`. */
  expected?: string;
  /** The value when the URL does not give the key; without it the value is `undefined`. */
  default?: string;
}

/**
 * The path of a file (not empty). The file is not read while the URL is parsed — that would be I/O in
 * `create()` — read it in {@link Driver.open} with {@link readPemFile}.
 */
export interface FileParam extends ParamSpecBase {
  type: "file";
}

/** How one query key of a backend's URL is spelled, checked and defaulted. */
export type ParamSpec = IntegerParam | NumberParam | BooleanParam | EnumParam | StringParam | FileParam;

/**
 * A backend's own URL query keys: key → {@link ParamSpec}. Declare it with {@link defineParams} so
 * the value types (enum words, whether a default exists) are kept.
 */
export type ParamSchema = Readonly<Record<string, ParamSpec>>;

/** The type a {@link ParamSpec} parses to. */
export type ParamValue<P> = P extends { type: "integer" | "number" }
  ? number
  : P extends { type: "boolean" }
    ? boolean
    : P extends { type: "enum"; values: readonly (infer V)[] }
      ? V | (P extends { deprecatedValues: infer D } ? Extract<keyof D, string> : never)
      : string;

/**
 * The typed values of a {@link ParamSchema}: a key with a `default` always has a value, any other is
 * `undefined` when the URL does not give it.
 */
export type ParamValues<S extends ParamSchema> = {
  readonly [K in keyof S]: S[K] extends { default: unknown }
    ? ParamValue<S[K]>
    : ParamValue<S[K]> | undefined;
};

/**
 * Declares a backend's URL query keys, keeping their literal types so the driver receives e.g.
 * `{ logLength: number; sentinelAuth: "none" | "inherit"; ca: string | undefined }` without casts.
 *
 * @example
 * ```ts
 * export const MY_PARAMS = defineParams({
 *   logLength: { type: "integer", min: 10, max: 1_000_000, default: 1000 },
 *   mode: { type: "enum", values: ["fast", "safe"], default: "safe" },
 *   ca: { type: "file", aliases: ["tlsCaFile"] },
 *   token: { type: "string", secret: true },
 * });
 * registerBackend({ name: "mine", schemes: ["mine"], defaultSessionTimeout: 5000, params: MY_PARAMS,
 *   create: (config) => new MyDriver(config) });
 * ```
 */
export function defineParams<const S extends ParamSchema>(schema: S): S {
  return schema;
}

/** Options of {@link parseParams}. */
export interface ParseParamsOptions {
  /** Where deprecation warnings go (an old key spelling or enum word); none are logged without it. */
  logger?: Logger;
}

function invalid(url: ConnectionUrl, message: string): RollcallError {
  return new RollcallError("INVALID_ARGUMENT", `invalid URL ${url.redacted}: ${message}`);
}

function shown(raw: string, spec: ParamSpec): string {
  if (spec.secret) return "a value that is not shown (secret)";
  return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}…` : raw);
}

function orList(words: readonly string[]): string {
  return words.length < 2 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

function parseOne(
  url: ConnectionUrl,
  name: string,
  raw: string,
  spec: ParamSpec,
  logger: Logger | undefined,
) {
  const hint = spec.hint === undefined ? "" : ` (${spec.hint})`;
  switch (spec.type) {
    case "integer":
    case "number": {
      const n = Number(raw);
      const integer = spec.type === "integer";
      if (
        raw.trim() === "" ||
        !Number.isFinite(n) ||
        n < spec.min ||
        n > spec.max ||
        (integer && !Number.isInteger(n))
      ) {
        const kind = integer ? "an integer" : "a number";
        throw invalid(
          url,
          `${name} must be ${kind} from ${spec.min} to ${spec.max}${hint}, got ${shown(raw, spec)}`,
        );
      }
      return n;
    }
    case "boolean":
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw invalid(url, `${name} must be true or false${hint}, got ${shown(raw, spec)}`);
    case "enum": {
      if (spec.values.includes(raw)) return raw;
      const deprecated = spec.deprecatedValues;
      if (deprecated !== undefined && Object.hasOwn(deprecated, raw)) {
        logger?.warn(`URL option ${name}=${raw} is deprecated: ${deprecated[raw]}`, {
          option: name,
          value: raw,
        });
        return raw;
      }
      throw invalid(url, `${name} must be ${orList(spec.values)}${hint}, got ${shown(raw, spec)}`);
    }
    case "string":
      if (
        spec.pattern !== undefined &&
        !new RegExp(`^(?:${spec.pattern.source})$`, spec.pattern.flags).test(raw)
      ) {
        throw invalid(
          url,
          `${name} must be ${spec.expected ?? `a match of ${spec.pattern}`}${hint}, got ${shown(raw, spec)}`,
        );
      }
      return raw;
    case "file":
      if (raw.trim() === "") throw invalid(url, `${name} must name a file${hint}, got ""`);
      return raw;
  }
}

/**
 * Reads the keys of `schema` from `url.params`, checks and converts them, and applies the defaults.
 * Keys the schema does not declare are left alone (core refuses unknown keys before a driver is
 * created). Core calls this at `connect()` and hands the result to the driver as
 * {@link DriverConfig.options}; a driver calls {@link driverOptions} rather than this.
 * @throws RollcallError `INVALID_ARGUMENT` naming the key (as the URL spelled it) and what is allowed —
 * never a secret's value: a bad value, a key given twice, an old and a new spelling given together
 */
export function parseParams<S extends ParamSchema>(
  url: ConnectionUrl,
  schema: S,
  options: ParseParamsOptions = {},
): ParamValues<S> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const names = [key, ...(spec.aliases ?? [])].filter((name) => url.params.has(name));
    for (const name of names) {
      if (url.params.getAll(name).length > 1) throw invalid(url, `${name} is given more than once`);
    }
    if (names.length > 1) {
      throw invalid(
        url,
        `${orList(names.filter((name) => name !== key))} and ${key} are the same option (${key} is its name now): give only ${key}`,
      );
    }
    const name = names[0];
    if (name === undefined) {
      values[key] = "default" in spec ? spec.default : undefined;
      continue;
    }
    if (name !== key) {
      options.logger?.warn(`URL option ${name} is deprecated: use ${key}`, {
        option: name,
        replacement: key,
      });
    }
    values[key] = parseOne(url, name, url.params.get(name) ?? "", spec, options.logger);
  }
  return values as ParamValues<S>;
}

/** Every spelling `schema` accepts: its keys and their aliases. */
export function acceptedParamNames(schema: ParamSchema): string[] {
  return Object.entries(schema).flatMap(([key, spec]) => [key, ...(spec.aliases ?? [])]);
}

/** The names (and old spellings) of `schema`'s secret keys. */
export function secretParamNames(schema: ParamSchema): string[] {
  return Object.entries(schema)
    .filter(([, spec]) => spec.secret === true)
    .flatMap(([key, spec]) => [key, ...(spec.aliases ?? [])]);
}

/**
 * `url.redacted` with the values of `schema`'s secret keys replaced by `***` (the user info is already
 * hidden by {@link parseUrl}).
 */
export function redactSecretParams(redacted: string, schema: ParamSchema): string {
  const secret = new Set(secretParamNames(schema));
  const q = redacted.indexOf("?");
  if (secret.size === 0 || q === -1) return redacted;
  const hash = redacted.indexOf("#", q);
  const query = redacted.slice(q + 1, hash === -1 ? undefined : hash);
  const masked = query
    .split("&")
    .map((part) => {
      const eq = part.indexOf("=");
      const rawName = eq === -1 ? part : part.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, " "));
      } catch {
        // A bad escape in a name: parseUrl's URLSearchParams kept it as written.
      }
      return secret.has(name) ? `${rawName}=***` : part;
    })
    .join("&");
  return `${redacted.slice(0, q + 1)}${masked}${hash === -1 ? "" : redacted.slice(hash)}`;
}

/** The backend's typed URL options and which common keys the URL gave: see {@link driverOptions}. */
export interface DriverOptions<S extends ParamSchema> {
  /** The backend's own keys, checked, converted and defaulted. */
  options: ParamValues<S>;
  /** Which {@link COMMON_PARAMS} the URL itself gave (the others are the backend's defaults). */
  given: ReadonlySet<CommonKey>;
}

/**
 * The typed values of the backend's URL keys and the common keys the URL gave, for a driver's
 * constructor: {@link DriverConfig.options} and {@link DriverConfig.given} as core set them at
 * `connect()`, or — for a config a test built by hand — parsed from `config.url` here (the common
 * keys such a test removed from `url.params` are still seen in `url.redacted`).
 * @param schema the backend's own schema, the one in its {@link BackendDefinition.params}
 * @throws RollcallError `INVALID_ARGUMENT` from {@link parseParams} (hand-built configs only)
 *
 * @example
 * ```ts
 * const { options, given } = driverOptions(config, MY_PARAMS);
 * options.logLength; // number
 * given.has("sessionTimeout"); // whether the URL set it
 * ```
 */
export function driverOptions<S extends ParamSchema>(config: DriverConfig, schema: S): DriverOptions<S> {
  const options =
    config.options === undefined ? parseParams(config.url, schema) : (config.options as ParamValues<S>);
  return { options, given: config.given ?? commonKeysIn(config.url) };
}

function commonKeysIn(url: ConnectionUrl): Set<CommonKey> {
  const q = url.redacted.indexOf("?");
  const query = new URLSearchParams(q === -1 ? "" : (url.redacted.slice(q + 1).split("#")[0] ?? ""));
  return new Set(COMMON_PARAMS.filter((key) => url.params.has(key) || query.has(key)));
}

/**
 * Reads a PEM file a URL names (a CA certificate, a client certificate or key) — the one reader every
 * backend uses. Call it from {@link Driver.open}, never from `create()`.
 * @param key the URL key that named the file (e.g. `"ca"`), for the error message
 * @param url when given, the error starts with `invalid URL <redacted>:`
 * @throws RollcallError `INVALID_ARGUMENT` naming the key, the path and the system's error code — never
 * the file's contents
 */
export async function readPemFile(key: string, path: string, url?: ConnectionUrl): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code ?? "error";
    const prefix = url === undefined ? "" : `invalid URL ${url.redacted}: `;
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${prefix}cannot read the ${key} file ${JSON.stringify(path)} (${code})`,
      {
        cause: error,
      },
    );
  }
}
