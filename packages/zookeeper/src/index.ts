/**
 * The ZooKeeper backend of rollcall: `zookeeper://host1:2181,host2:2181/servicegroups?sessionTimeout=4000`.
 * Importing this module registers the `zookeeper` scheme.
 * @packageDocumentation
 */
import { registerBackend } from "@rollcall/core/driver";
import { ZOOKEEPER_PARAMS } from "./journal.js";
import { ZooKeeperDriver } from "./zookeeper-driver.js";

export { ZOOKEEPER_PARAMS } from "./journal.js";
export { DEFAULT_PORT, ZooKeeperDriver } from "./zookeeper-driver.js";

/**
 * The backend's defaults. `sessionTimeout` and `namespace` are Nova's ZooKeeper ServiceGroup driver's
 * (`recv_timeout`, `sg_prefix`); `retryInterval` is core's and every other backend's, 1 s: Nova's
 * `sg_retry_interval` (5 s) was its pause before trying a join again that found the member's old znode
 * still there, while core waits `retryInterval` before re-opening an expired session — a member cut off
 * was back in its group only about 5 s after the partition healed.
 */
export const ZOOKEEPER_DEFAULTS = {
  sessionTimeout: 4000,
  retryInterval: 1000,
  namespace: "servicegroups",
} as const;

registerBackend({
  name: "zookeeper",
  schemes: ["zookeeper"],
  defaultSessionTimeout: ZOOKEEPER_DEFAULTS.sessionTimeout,
  defaultRetryInterval: ZOOKEEPER_DEFAULTS.retryInterval,
  defaultNamespace: ZOOKEEPER_DEFAULTS.namespace,
  pathIsNamespace: true,
  params: ZOOKEEPER_PARAMS,
  create: (config) => new ZooKeeperDriver(config),
});
