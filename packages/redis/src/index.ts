/**
 * The Redis backend of rollcall: `redis://` and `rediss://` URLs. Importing this module registers it.
 *
 * @example
 * ```ts
 * import { connect } from "@rollcall/core";
 * import "@rollcall/redis";
 * await using coord = await connect("redis://10.0.0.5:6379/0?namespace=servicegroups&sessionTimeout=4000", {
 *   memberId: "compute-17",
 * });
 * ```
 * @packageDocumentation
 */
import { registerBackend } from "@rollcall/core/driver";
import { RedisDriver } from "./redis-driver.js";
import { REDIS_PARAMS } from "./redis-options.js";

/** Default `sessionTimeout` (ms) of the Redis backend. */
export const DEFAULT_SESSION_TIMEOUT = 10_000;
/** Default `retryInterval` (ms) of the Redis backend. */
export const DEFAULT_RETRY_INTERVAL = 1000;

registerBackend({
  name: "redis",
  schemes: ["redis", "rediss"],
  defaultSessionTimeout: DEFAULT_SESSION_TIMEOUT,
  defaultRetryInterval: DEFAULT_RETRY_INTERVAL,
  defaultNamespace: "rollcall",
  pathIsNamespace: false,
  params: REDIS_PARAMS,
  create: (config) => new RedisDriver(config),
});

export { KeySpace } from "./key-space.js";
export { RedisDriver } from "./redis-driver.js";
export { DEFAULT_LOG_LENGTH, REDIS_PARAMS, type RedisParams } from "./redis-options.js";
