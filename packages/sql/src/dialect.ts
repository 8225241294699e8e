import { type ConnectionUrl, RollcallError } from "@rollcall/core/driver";
import type { Knex } from "knex";
import type { Dialect } from "./options.js";
import { FIRST_PAUSE, isBusy, MAX_PAUSE, SQLITE_BUSY_DEADLINE, SQLITE_BUSY_TIMEOUT } from "./sqlite-busy.js";

/** SQL that differs between the dialects. Everything else is written once. */
export interface DialectSql {
  /** The database clock as integer milliseconds since the epoch, stable within one statement. */
  nowMs: string;
  /** Quotes an identifier that is already known to be `[A-Za-z0-9_]`. */
  quote(name: string): string;
  /** `INSERT` that ignores a duplicate key: the text before `INTO` and after `VALUES (…)`. */
  insertIgnore: { verb: string; suffix: string };
  /** Whether `UPDATE … RETURNING` / `DELETE … RETURNING` are available. */
  returning: boolean;
  /** `FOR UPDATE` where the dialect has row locks. */
  forUpdate: string;
}

const dialects: Record<Dialect, DialectSql> = {
  postgresql: {
    nowMs: "(floor(extract(epoch from statement_timestamp()) * 1000))::bigint",
    quote: (name) => `"${name}"`,
    insertIgnore: { verb: "INSERT", suffix: " ON CONFLICT DO NOTHING" },
    returning: true,
    forUpdate: " FOR UPDATE",
  },
  mysql: {
    // The session time zone is set to UTC on every connection, so UNIX_TIMESTAMP() never meets a DST fold.
    nowMs: "CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)",
    quote: (name) => `\`${name}\``,
    insertIgnore: { verb: "INSERT IGNORE", suffix: "" },
    returning: false,
    forUpdate: " FOR UPDATE",
  },
  sqlite: {
    nowMs: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    quote: (name) => `"${name}"`,
    insertIgnore: { verb: "INSERT OR IGNORE", suffix: "" },
    returning: true,
    forUpdate: "",
  },
};

/** The SQL fragments of a dialect. */
export function dialectSql(dialect: Dialect): DialectSql {
  return dialects[dialect];
}

/** The knex client name of a dialect. */
export function knexClient(dialect: Dialect): string {
  return dialect === "postgresql" ? "pg" : dialect === "mysql" ? "mysql2" : "better-sqlite3";
}

/** Settings that shape the knex configuration. */
export interface KnexSettings {
  poolSize: number;
  ssl: false | "verify" | "insecure";
  /** PEM text of the CA certificates that verify the server, from `ca=` (default: the system's). */
  ca?: string;
  /** Bound on connecting and acquiring a pooled connection, in ms. */
  connectTimeout: number;
}

/** The SQLite file a `sqlite://` URL names: `sqlite:///abs/path.db` or `sqlite://./relative.db`. */
export function sqliteFilename(url: ConnectionUrl): string {
  const host = url.hosts[0]?.host ?? "";
  if (url.hosts.length > 1) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: sqlite takes a file path, not a host list`,
    );
  }
  const file = host === "" ? url.path : `${host}${url.path}`;
  if (file === "" || file.endsWith("/")) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: expected sqlite:///absolute/path.db or sqlite://./relative.db`,
    );
  }
  return file;
}

/** The database name in a server URL's path (`postgresql://host/dbname`), if any. */
export function databaseName(url: ConnectionUrl): string | undefined {
  const name = url.path.replace(/^\/+|\/+$/g, "");
  return name === "" ? undefined : name;
}

/** Where the database is, for error messages: host and port or file, never a password. */
export function describeTarget(dialect: Dialect, url: ConnectionUrl): string {
  if (dialect === "sqlite") return `sqlite file ${sqliteFilename(url)}`;
  const defaultPort = dialect === "postgresql" ? 5432 : 3306;
  const hosts =
    url.hosts.length === 0 ? ["localhost"] : url.hosts.map((h) => `${h.host}:${h.port ?? defaultPort}`);
  return `${dialect} at ${hosts.join(",")}`;
}

/** Builds the knex configuration for a parsed URL. */
export function knexConfig(dialect: Dialect, url: ConnectionUrl, settings: KnexSettings): Knex.Config {
  if (dialect === "sqlite") {
    return {
      client: "better-sqlite3",
      connection: { filename: sqliteFilename(url) },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        // WAL lets readers run beside the one writer of another process. No busy timeout: better-sqlite3
        // is synchronous, so SQLite's busy handler would sleep with the event loop blocked; a writer that
        // finds the lock taken fails at once and is tried again asynchronously (sqlite-busy.ts).
        afterCreate: (
          conn: { pragma(text: string): unknown },
          done: (error: Error | null, conn: unknown) => void,
        ) => {
          const deadline = performance.now() + SQLITE_BUSY_DEADLINE;
          let pause = FIRST_PAUSE;
          const setUp = () => {
            try {
              conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT}`);
              conn.pragma("synchronous = NORMAL");
              // Turning WAL on takes the lock once, when the file is new (several processes may race).
              conn.pragma("journal_mode = WAL");
              done(null, conn);
            } catch (error) {
              if (!isBusy(error) || performance.now() + pause > deadline) done(error as Error, conn);
              else {
                setTimeout(setUp, pause);
                pause = Math.min(MAX_PAUSE, pause * 2);
              }
            }
          };
          setUp();
        },
      },
      acquireConnectionTimeout: settings.connectTimeout,
    };
  }
  if (url.hosts.length > 1) {
    throw new RollcallError("INVALID_ARGUMENT", `invalid URL ${url.redacted}: ${dialect} takes one host`);
  }
  const host = url.hosts[0]?.host ?? "localhost";
  const database = databaseName(url);
  if (dialect === "postgresql") {
    const connection: Record<string, unknown> = {
      host,
      port: url.hosts[0]?.port ?? 5432,
      user: url.username ?? "postgres",
      database: database ?? url.username ?? "postgres",
      application_name: "rollcall",
      keepAlive: true,
      connectionTimeoutMillis: settings.connectTimeout,
    };
    if (url.password !== undefined) connection.password = url.password;
    if (settings.ssl) connection.ssl = tlsOptions(settings);
    return {
      client: "pg",
      connection,
      pool: { min: 0, max: settings.poolSize },
      acquireConnectionTimeout: settings.connectTimeout,
    };
  }
  if (database === undefined) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: name the database in the path, e.g. mysql://user@host:3306/rollcall`,
    );
  }
  const connection: Record<string, unknown> = {
    host,
    port: url.hosts[0]?.port ?? 3306,
    user: url.username ?? "root",
    database,
    charset: "utf8mb4",
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: settings.connectTimeout,
    enableKeepAlive: true,
  };
  if (url.password !== undefined) connection.password = url.password;
  if (settings.ssl) connection.ssl = tlsOptions(settings);
  return {
    client: "mysql2",
    connection,
    pool: {
      min: 0,
      max: settings.poolSize,
      afterCreate: (
        conn: { query(sql: string, cb: (error: Error | null) => void): void },
        done: (error: Error | null, conn: unknown) => void,
      ) => {
        // UTC for UNIX_TIMESTAMP(NOW(3)); READ COMMITTED so reads after the namespace lock see the
        // previous writer's commit and no gap locks are taken.
        conn.query("SET time_zone = '+00:00'", (error) => {
          if (error) done(error, conn);
          else
            conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", (again) =>
              done(again, conn),
            );
        });
      },
    },
    acquireConnectionTimeout: settings.connectTimeout,
  };
}

/** The `ssl` connection option of pg and mysql2. */
function tlsOptions(settings: KnexSettings): Record<string, unknown> {
  return {
    rejectUnauthorized: settings.ssl === "verify",
    ...(settings.ca === undefined ? {} : { ca: settings.ca }),
  };
}
