/**
 * The ZooKeeper backend of rollcall: `zookeeper://host1:2181,host2:2181/servicegroups?sessionTimeout=4000`.
 * Importing this module registers the `zookeeper` scheme.
 * @packageDocumentation
 */
import { registerBackend } from "@rollcall/core/driver";
import { ZooKeeperDriver } from "./zookeeper-driver.js";

export { DEFAULT_PORT, ZooKeeperDriver } from "./zookeeper-driver.js";

/** The backend's defaults, from Nova's ZooKeeper ServiceGroup driver (`recv_timeout`, `sg_prefix`, `sg_retry_interval`). */
export const ZOOKEEPER_DEFAULTS = {
  sessionTimeout: 4000,
  retryInterval: 5000,
  namespace: "servicegroups",
} as const;

registerBackend({
  name: "zookeeper",
  schemes: ["zookeeper"],
  defaultSessionTimeout: ZOOKEEPER_DEFAULTS.sessionTimeout,
  defaultRetryInterval: ZOOKEEPER_DEFAULTS.retryInterval,
  defaultNamespace: ZOOKEEPER_DEFAULTS.namespace,
  pathIsNamespace: true,
  params: ["journalRetention"],
  create: (config) => new ZooKeeperDriver(config),
});
