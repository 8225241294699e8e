import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ConnectionUrl } from "./driver/connection-url.js";
import type { BackendDefinition, Driver } from "./driver/driver.js";
import type { ParamSchema } from "./driver/url-params.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { silentLogger } from "./internal/silent-logger.js";
import type { Logger } from "./types.js";
import { type CommonOptions, parseUrl, readUrlOptions } from "./url.js";
import { validateMemberId } from "./validation.js";

const KEY = Symbol.for("rollcall.backends");
type Registry = Map<string, BackendDefinition>;

// One registry per process, even when two copies of @rollcall/core are installed.
function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  let map = holder[KEY];
  if (map === undefined) {
    map = new Map();
    holder[KEY] = map;
  }
  return map;
}

/** The package that provides each well-known scheme. */
export const SCHEME_PACKAGES: Readonly<Record<string, string>> = {
  memory: "@rollcall/memory",
  zookeeper: "@rollcall/zookeeper",
  etcd: "@rollcall/etcd",
  etcds: "@rollcall/etcd",
  redis: "@rollcall/redis",
  rediss: "@rollcall/redis",
  postgresql: "@rollcall/sql",
  postgres: "@rollcall/sql",
  mysql: "@rollcall/sql",
  mariadb: "@rollcall/sql",
  sqlite: "@rollcall/sql",
};

/**
 * Registers a backend for its URL schemes. Backend packages call this when they are imported;
 * applications call it for a backend of their own.
 *
 * @example
 * ```ts
 * registerBackend({ name: "mine", schemes: ["mine"], defaultSessionTimeout: 5000, create: (config) => new MyDriver(config) });
 * ```
 */
export function registerBackend<S extends ParamSchema>(definition: BackendDefinition<S>): void {
  for (const scheme of definition.schemes)
    registry().set(scheme.toLowerCase(), definition as BackendDefinition);
}

/** The backend registered for `scheme`, if any (no loading). */
export function registeredBackend(scheme: string): BackendDefinition | undefined {
  return registry().get(scheme.toLowerCase());
}

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch (error) {
    if (isNotFound(error, specifier)) return false;
    throw error;
  }
}

function isNotFound(error: unknown, specifier: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  const message = String((error as { message?: string } | null)?.message ?? "");
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(specifier);
}

async function importFrom(base: string, specifier: string): Promise<boolean> {
  try {
    const resolved = createRequire(base).resolve(specifier);
    await import(pathToFileURL(resolved).href);
    return true;
  } catch (error) {
    if (isNotFound(error, specifier)) return false;
    throw error;
  }
}

/**
 * The backend for `scheme`, importing its package (`@rollcall/<backend>`) on first use — from core's
 * own location, then from the working directory and the main script's directory.
 * @throws RollcallError `UNKNOWN_SCHEME` naming the package to install
 */
export async function resolveBackend(scheme: string): Promise<BackendDefinition> {
  const lower = scheme.toLowerCase();
  const found = registeredBackend(lower);
  if (found) return found;
  const pkg = SCHEME_PACKAGES[lower];
  if (pkg === undefined) {
    const known = Object.keys(SCHEME_PACKAGES).join(", ");
    throw new RollcallError(
      "UNKNOWN_SCHEME",
      `unknown URL scheme "${scheme}:": known schemes are ${known}, or call registerBackend() for your own`,
    );
  }
  const bases = [join(process.cwd(), "package.json")];
  if (process.argv[1]) bases.push(process.argv[1]);
  let loaded = await tryImport(pkg);
  for (const base of bases) {
    if (loaded) break;
    loaded = await importFrom(base, pkg);
  }
  const definition = registeredBackend(lower);
  if (!definition) {
    throw new RollcallError(
      "UNKNOWN_SCHEME",
      loaded
        ? `${pkg} was loaded but registered no backend for "${scheme}:"`
        : `no backend for "${scheme}:" is installed: install ${pkg} (pnpm add ${pkg}) or import it before connect()`,
    );
  }
  return definition;
}

/** Options of {@link createDriver}. */
export interface CreateDriverOptions {
  /** The member id the driver acts as; validated as `connect()` validates it. */
  memberId: string;
  /** Handed to the driver (default: a logger that discards everything). */
  logger?: Logger;
}

/** A driver made by {@link createDriver}: not opened yet. */
export interface CreatedDriver {
  /** The driver; call {@link Driver.open} before anything else and {@link Driver.close} when done. */
  driver: Driver;
  /** The backend that created it. */
  backend: BackendDefinition;
  /** The parsed URL (its `redacted` form is safe to show). */
  url: ConnectionUrl;
  /** The common URL options with the backend's defaults applied (namespace, timeouts, poll interval…). */
  options: CommonOptions;
  /**
   * The URL's secrets (its password and the values of the backend's secret keys, as written and decoded):
   * what `connect()` scrubs from every failure to open a session. Never print them.
   */
  secrets: readonly string[];
}

/**
 * Creates a backend's driver for `url` exactly as `connect()` would — resolving the backend from the
 * scheme, reading the common query keys with the backend's defaults and the backend's own keys with its
 * schema (deprecated spellings are warned about on `options.logger`) — but without a Coordinator, so a
 * test can speak the driver contract directly (the conformance kit's driver-level checks do). No I/O
 * beyond loading the backend's package; applications use `connect()`.
 * @throws RollcallError `INVALID_ARGUMENT` (bad URL or member id), `UNKNOWN_SCHEME`
 *
 * @example
 * ```ts
 * const { driver, options } = await createDriver("memory://test?namespace=t1", { memberId: "m1" });
 * await driver.open({ state: () => {}, renewed: () => {} }, AbortSignal.timeout(options.connectTimeout));
 * ```
 */
export async function createDriver(url: string | URL, options: CreateDriverOptions): Promise<CreatedDriver> {
  if (typeof options !== "object" || options === null) {
    throw new RollcallError("INVALID_ARGUMENT", "createDriver() needs options with a memberId");
  }
  validateMemberId(options.memberId);
  const parsed = parseUrl(url);
  const backend = await resolveBackend(parsed.scheme);
  const logger = options.logger ?? silentLogger;
  const { common, options: backendOptions, given, secrets } = readUrlOptions(parsed, backend, logger);
  const driver = backend.create({
    url: parsed,
    options: backendOptions,
    given,
    memberId: options.memberId,
    namespace: common.namespace,
    sessionTimeout: common.sessionTimeout,
    logger,
    maxMetadataBytes: common.maxMetadataBytes,
  });
  return { driver, backend, url: parsed, options: common, secrets };
}
