import { type DriverConfig, defineParams, driverOptions, RollcallError } from "@rollcall/core/driver";

/** The SQL dialects this package speaks. */
export type Dialect = "postgresql" | "mysql" | "sqlite";

/**
 * The backend's own URL query keys (core handles the common ones). The TLS keys are spelled as on every
 * backend — `ca`, `rejectUnauthorized`, the `node:tls` options they set — with `ssl` turning TLS on
 * (these schemes have no TLS variant); `ssl=insecure` is the old spelling of
 * `ssl=true&rejectUnauthorized=false` (accepted with a deprecation warning).
 */
export const SQL_PARAMS = defineParams({
  tablePrefix: {
    type: "string",
    pattern: /[A-Za-z_][A-Za-z0-9_]{0,31}/,
    expected: "1–32 characters of [A-Za-z0-9_], not starting with a digit",
    default: "rollcall_",
  },
  heartbeatInterval: { type: "integer", min: 10, max: 3_600_000 },
  report_interval: { type: "number", min: 0.01, max: 86_400 },
  service_down_time: { type: "number", min: 0.01, max: 86_400 },
  changeRetention: { type: "integer", min: 1000, max: 7 * 86_400_000 },
  poolSize: { type: "integer", min: 2, max: 100 },
  ssl: {
    type: "enum",
    values: ["true", "false"],
    deprecatedValues: { insecure: "use ssl=true&rejectUnauthorized=false", verify: "use ssl=true" },
  },
  rejectUnauthorized: { type: "boolean" },
  ca: { type: "file" },
});

/** Default session timeout (ms) when neither `sessionTimeout` nor the Nova options are given. */
export const DEFAULT_SESSION_TIMEOUT = 10_000;
/** Nova's `report_interval` default, in seconds. */
export const NOVA_REPORT_INTERVAL = 10;
/** Nova's `service_down_time` default, in seconds. */
export const NOVA_SERVICE_DOWN_TIME = 60;

/** The resolved settings of a SQL driver. */
export interface SqlOptions {
  dialect: Dialect;
  /** Prefix of every table name (an SQL identifier, validated). */
  tablePrefix: string;
  /** Session timeout in ms: a session's deadline is this far past its last heartbeat, on the database clock. */
  sessionTimeout: number;
  /** Heartbeat period in ms. */
  heartbeatInterval: number;
  /** How long change-log rows are kept, in ms. */
  changeRetention: number;
  /** Connections in the pool (SQLite: always 1). */
  poolSize: number;
  /** TLS for PostgreSQL / MySQL: `ssl=true` (verify) or `ssl=true&rejectUnauthorized=false` (no verification). */
  ssl: false | "verify" | "insecure";
  /** `ca=<PEM file>`: the CA certificates that verify the server (default: the system's). Implies `ssl=true`. */
  caFile: string | undefined;
  /** Where the Nova options came from, for the README's table and the log. */
  novaCompatible: boolean;
}

function invalid(config: DriverConfig, message: string): RollcallError {
  return new RollcallError("INVALID_ARGUMENT", `invalid URL ${config.url.redacted}: ${message}`);
}

/**
 * Nova's rule (nova/service.py): a `service_down_time` not above `report_interval` is raised to
 * `int(report_interval * 2.5)`.
 */
export function novaDownTime(reportInterval: number, serviceDownTime: number): number {
  return serviceDownTime <= reportInterval ? Math.trunc(reportInterval * 2.5) : serviceDownTime;
}

/**
 * Resolves the session timeout and heartbeat period. Nova's names (`report_interval`,
 * `service_down_time`, in seconds) map onto heartbeat period and session timeout; without them the
 * session timeout comes from the URL (`sessionTimeout`, ms) and the heartbeat runs every third of it.
 * The heartbeat never runs less often than every `sessionTimeout / 3` (the driver contract).
 */
export function readSqlOptions(dialect: Dialect, config: DriverConfig): SqlOptions {
  const { options: params, given } = driverOptions(config, SQL_PARAMS);
  const { tablePrefix, report_interval: reportInterval, service_down_time: serviceDownTime } = params;
  let heartbeat = params.heartbeatInterval;
  const novaCompatible = reportInterval !== undefined || serviceDownTime !== undefined;
  let sessionTimeout = config.sessionTimeout;
  if (novaCompatible) {
    if (given.has("sessionTimeout")) {
      throw invalid(
        config,
        "give either sessionTimeout or Nova's report_interval / service_down_time, not both",
      );
    }
    if (heartbeat !== undefined && reportInterval !== undefined) {
      throw invalid(config, "give either heartbeatInterval or report_interval, not both");
    }
    const report = reportInterval ?? NOVA_REPORT_INTERVAL;
    const down = novaDownTime(report, serviceDownTime ?? NOVA_SERVICE_DOWN_TIME);
    sessionTimeout = Math.round(down * 1000);
    heartbeat ??= Math.round(report * 1000);
  }
  const maxHeartbeat = Math.floor(sessionTimeout / 3);
  heartbeat = Math.max(10, Math.min(heartbeat ?? maxHeartbeat, maxHeartbeat));
  const changeRetention = params.changeRetention ?? Math.max(600_000, 10 * sessionTimeout);
  const poolSize = dialect === "sqlite" ? 1 : (params.poolSize ?? 4);
  return {
    dialect,
    tablePrefix,
    sessionTimeout,
    heartbeatInterval: heartbeat,
    changeRetention,
    poolSize,
    ...readTls(dialect, config, params.ssl, params.rejectUnauthorized, params.ca),
    novaCompatible,
  };
}

/**
 * TLS: `ssl=true` turns it on, `ca=` and `rejectUnauthorized=` imply it; `ssl=insecure` (old) is
 * `ssl=true&rejectUnauthorized=false`.
 */
function readTls(
  dialect: Dialect,
  config: DriverConfig,
  sslWord: "true" | "false" | "insecure" | "verify" | undefined,
  rejectUnauthorized: boolean | undefined,
  caFile: string | undefined,
): Pick<SqlOptions, "ssl" | "caFile"> {
  if (dialect === "sqlite") {
    for (const [name, value] of [
      ["ssl", sslWord],
      ["rejectUnauthorized", rejectUnauthorized],
      ["ca", caFile],
    ] as const) {
      if (value !== undefined) throw invalid(config, `${name} does not apply to sqlite`);
    }
    return { ssl: false, caFile: undefined };
  }
  if (sslWord === "insecure" && rejectUnauthorized !== undefined) {
    throw invalid(
      config,
      "ssl=insecure is the old spelling of ssl=true&rejectUnauthorized=false: give only the new one",
    );
  }
  if (sslWord === "false" && rejectUnauthorized !== undefined) {
    throw invalid(config, "rejectUnauthorized is a TLS option: it needs ssl=true, not ssl=false");
  }
  let ssl: SqlOptions["ssl"] = false;
  if (sslWord === "true" || sslWord === "verify") ssl = "verify";
  else if (sslWord === "insecure") ssl = "insecure";
  if (rejectUnauthorized !== undefined) ssl = rejectUnauthorized ? "verify" : "insecure";
  if (caFile !== undefined) {
    if (rejectUnauthorized === false) {
      throw invalid(
        config,
        "ca= verifies the server's certificate: it cannot be given with rejectUnauthorized=false",
      );
    }
    if (sslWord === "false" || sslWord === "insecure") {
      throw invalid(config, `ca= verifies the server's certificate: it needs ssl=true, not ssl=${sslWord}`);
    }
    ssl = "verify";
  }
  return { ssl, caFile };
}
