/**
 * `postgresql://`, `mysql://` / `mariadb://` and `sqlite://` — rollcall's SQL backend: heartbeat
 * sessions on the database clock, an ordered change log, PostgreSQL LISTEN/NOTIFY push, and the
 * Nova-compatible `report_interval` / `service_down_time` options. Importing this module registers it.
 * @packageDocumentation
 */
import { type BackendDefinition, registerBackend } from "@rollcall/core/driver";
import { DEFAULT_SESSION_TIMEOUT, type Dialect, SQL_PARAMS } from "./options.js";
import { SqlDriver } from "./sql-driver.js";

function definition(dialect: Dialect, schemes: string[]): BackendDefinition<typeof SQL_PARAMS> {
  return {
    name: dialect,
    schemes,
    defaultSessionTimeout: DEFAULT_SESSION_TIMEOUT,
    defaultRetryInterval: 1000,
    defaultNamespace: "rollcall",
    pathIsNamespace: false,
    params: SQL_PARAMS,
    create: (config) => new SqlDriver(dialect, config),
  };
}

registerBackend(definition("postgresql", ["postgresql", "postgres"]));
registerBackend(definition("mysql", ["mysql", "mariadb"]));
registerBackend(definition("sqlite", ["sqlite"]));

export {
  type MembershipMirror,
  type MirrorOptions,
  type MirrorValue,
  mirrorMembership,
} from "./mirror-membership.js";
export {
  DEFAULT_SESSION_TIMEOUT,
  type Dialect,
  NOVA_REPORT_INTERVAL,
  NOVA_SERVICE_DOWN_TIME,
  novaDownTime,
  SQL_PARAMS,
  type SqlOptions,
} from "./options.js";
export { SCHEMA_VERSION, type Tables, tableNames } from "./schema.js";
export { SqlDriver } from "./sql-driver.js";
