/**
 * `memory://` — rollcall's in-process reference backend. Importing this module registers it.
 * @packageDocumentation
 */
import { registerBackend } from "@rollcall/core/driver";
import { MemoryDriver } from "./memory-driver.js";

registerBackend({
  name: "memory",
  schemes: ["memory"],
  defaultSessionTimeout: 2000,
  defaultRetryInterval: 200,
  defaultNamespace: "rollcall",
  pathIsNamespace: true,
  create: (config) => new MemoryDriver(config),
});

export { MemoryDriver } from "./memory-driver.js";
export { memorySessions } from "./memory-sessions.js";
export { LOG_RETENTION } from "./memory-store.js";
