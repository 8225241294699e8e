/**
 * Broken `memory://` backends for the kit's self-test: each is the honest in-process memory driver
 * passed through a wrapper that introduces one bug, so a check can be shown to reject it.
 * @packageDocumentation
 */
import type { Driver } from "@rollcall/core/driver";
import { registerBackend } from "@rollcall/core/driver";
// Not a dependency of the kit (memory's own tests depend on the kit; turbo refuses the cycle): resolved
// to memory's build by vitest.config.ts and tsconfig.json, and turbo.json builds memory first.
import { MemoryDriver } from "@rollcall/memory";

/**
 * Registers a backend under the URL scheme `name` (lowercase letters only) whose drivers are
 * memory's drivers passed through `wrap`, and returns a base URL for it. The drivers are real
 * {@link MemoryDriver}s, so `memorySessions` (freeze, expire, …) still reaches them by member id.
 *
 * @param name - the scheme, e.g. `"nogone"`; registering the same name again replaces the wrapper
 * @param wrap - turns an honest driver into a broken one (usually a `Proxy` or a delegating object)
 * @returns a base URL such as `nogone://selftest-1234`; its host names the memory store
 */
export function brokenMemory(name: string, wrap: (driver: Driver) => Driver): string {
  if (!/^[a-z]+$/.test(name))
    throw new Error(`brokenMemory: scheme must be lowercase letters, got "${name}"`);
  registerBackend({
    name,
    schemes: [name],
    defaultSessionTimeout: 2000,
    defaultRetryInterval: 200,
    defaultNamespace: "rollcall",
    pathIsNamespace: true,
    create: (config) => wrap(new MemoryDriver(config)),
  });
  return `${name}://selftest-${process.pid}`;
}
