import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BackendDefinition } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";

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
export function registerBackend(definition: BackendDefinition): void {
  for (const scheme of definition.schemes) registry().set(scheme.toLowerCase(), definition);
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
