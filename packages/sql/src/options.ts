import { type DriverConfig, RollcallError } from "@rollcall/core/driver";

/** The SQL dialects this package speaks. */
export type Dialect = "postgresql" | "mysql" | "sqlite";

/** The backend's own URL query keys (core handles the common ones). */
export const SQL_PARAMS = [
  "tablePrefix",
  "heartbeatInterval",
  "report_interval",
  "service_down_time",
  "changeRetention",
  "poolSize",
  "ssl",
  "ca",
] as const;

/** Default session timeout (ms) when neither `sessionTimeout` nor the Nova options are given. */
export const DEFAULT_SESSION_TIMEOUT = 10_000;
/** Nova's `report_interval` default, in seconds. */
export const NOVA_REPORT_INTERVAL = 10;
/** Nova's `service_down_time` default, in seconds. */
export const NOVA_SERVICE_DOWN_TIME = 60;

const PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

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
  /** TLS for PostgreSQL / MySQL: `ssl=true` (verify) or `ssl=insecure` (no verification). */
  ssl: false | "verify" | "insecure";
  /** `ca=<PEM file>`: the CA certificates that verify the server (default: the system's). Implies `ssl=true`. */
  caFile: string | undefined;
  /** Where the Nova options came from, for the README's table and the log. */
  novaCompatible: boolean;
}

function invalid(config: DriverConfig, message: string): RollcallError {
  return new RollcallError("INVALID_ARGUMENT", `invalid URL ${config.url.redacted}: ${message}`);
}

function readNumber(
  config: DriverConfig,
  key: string,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  const raw = config.url.params.get(key);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const kind = integer ? "an integer" : "a number";
    throw invalid(config, `${key} must be ${kind} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Whether the URL itself named `sessionTimeout` (core has already applied its default otherwise). */
function urlHasSessionTimeout(config: DriverConfig): boolean {
  const q = config.url.redacted.indexOf("?");
  if (q === -1) return false;
  const query = config.url.redacted.slice(q + 1).split("#")[0] ?? "";
  return new URLSearchParams(query).has("sessionTimeout");
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
  const tablePrefix = config.url.params.get("tablePrefix") ?? "rollcall_";
  if (!PREFIX.test(tablePrefix)) {
    throw invalid(
      config,
      `tablePrefix ${JSON.stringify(tablePrefix)} must be 1–32 characters of [A-Za-z0-9_], not starting with a digit`,
    );
  }
  const reportInterval = readNumber(config, "report_interval", 0.01, 86_400, false);
  const serviceDownTime = readNumber(config, "service_down_time", 0.01, 86_400, false);
  let heartbeat = readNumber(config, "heartbeatInterval", 10, 3_600_000, true);
  const novaCompatible = reportInterval !== undefined || serviceDownTime !== undefined;
  let sessionTimeout = config.sessionTimeout;
  if (novaCompatible) {
    if (urlHasSessionTimeout(config)) {
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
  const changeRetention =
    readNumber(config, "changeRetention", 1000, 7 * 86_400_000, true) ??
    Math.max(600_000, 10 * sessionTimeout);
  const poolSize = dialect === "sqlite" ? 1 : (readNumber(config, "poolSize", 2, 100, true) ?? 4);
  const sslRaw = config.url.params.get("ssl");
  let ssl: SqlOptions["ssl"] = false;
  if (sslRaw !== null) {
    if (dialect === "sqlite") throw invalid(config, "ssl does not apply to sqlite");
    if (sslRaw === "true" || sslRaw === "verify") ssl = "verify";
    else if (sslRaw === "insecure") ssl = "insecure";
    else if (sslRaw !== "false")
      throw invalid(config, `ssl must be true, insecure or false, got ${JSON.stringify(sslRaw)}`);
  }
  const caFile = config.url.params.get("ca") ?? undefined;
  if (caFile !== undefined) {
    if (dialect === "sqlite") throw invalid(config, "ca does not apply to sqlite");
    if (caFile === "") throw invalid(config, "ca must name a PEM file");
    if (sslRaw !== null && ssl !== "verify")
      throw invalid(config, `ca= verifies the server's certificate: it needs ssl=true, not ssl=${sslRaw}`);
    ssl = "verify";
  }
  return {
    dialect,
    tablePrefix,
    sessionTimeout,
    heartbeatInterval: heartbeat,
    changeRetention,
    poolSize,
    ssl,
    caFile,
    novaCompatible,
  };
}
