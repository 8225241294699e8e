/**
 * The etcd backend of rollcall: `etcd://host1:2379,host2:2379/namespace?sessionTimeout=…` and
 * `etcds://…` for TLS. Importing this module registers both schemes with `@rollcall/core`.
 *
 * @example
 * ```ts
 * import { connect } from "@rollcall/core";
 * import "@rollcall/etcd";
 *
 * const coord = await connect("etcd://10.0.0.1:2379,10.0.0.2:2379/servicegroups?sessionTimeout=4000", {
 *   memberId: "compute-17",
 * });
 * ```
 * @packageDocumentation
 */
import { registerBackend } from "@rollcall/core/driver";
import { EtcdDriver } from "./etcd-driver.js";
import { ETCD_PARAMS } from "./etcd-options.js";

export { ETCD_CHARACTERISTICS, EtcdDriver } from "./etcd-driver.js";
export {
  DEFAULT_ELECTION_TIMEOUT,
  DEFAULT_ETCD_PORT,
  ETCD_PARAMS,
  MIN_SESSION_TIMEOUT,
} from "./etcd-options.js";

/** Default `sessionTimeout` (ms): the etcd lease TTL when the URL gives none. */
export const DEFAULT_SESSION_TIMEOUT = 10_000;

registerBackend({
  name: "etcd",
  schemes: ["etcd", "etcds"],
  defaultSessionTimeout: DEFAULT_SESSION_TIMEOUT,
  defaultRetryInterval: 1000,
  defaultNamespace: "rollcall",
  pathIsNamespace: true,
  params: ETCD_PARAMS,
  create: (config) => new EtcdDriver(config),
});
