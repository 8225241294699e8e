import mysql from "mysql2/promise";
import pg from "pg";
import { ChildAgent } from "../agents/child-agent.js";
import type { BackendName } from "../args.js";
import type { RunningBackend } from "../backends/backend-spec.js";
import { randomId } from "../clock.js";
import { NOVA_AGENT } from "../paths.js";
import type { Scope } from "./scope.js";

/** The SQL dialects the Nova peer speaks: the backends it runs on. */
export type NovaDialect = Extract<BackendName, "postgresql" | "mysql">;

/** Where the Nova peer's table lives: what its agents are told to connect to. */
export interface NovaDatabase {
  dialect: NovaDialect;
  /** `postgresql://…` for `pg`, `mysql://…` for `mysql2`. */
  connectionString: string;
}

/** The Nova peer's database on a running backend: PostgreSQL or MySQL/MariaDB, with a connection string. */
export function novaDatabase(backend: RunningBackend): NovaDatabase {
  const { name, connectionString } = backend;
  if ((name !== "postgresql" && name !== "mysql") || connectionString === undefined)
    throw new Error(`the Nova peer runs on PostgreSQL and MySQL, not ${name}`);
  return { dialect: name, connectionString };
}

/** A fresh copy of Nova's `services` table: its name, and its `nova-compute` rows' ids and hosts. */
export interface ServicesTable {
  table: string;
  ids: number[];
  hosts: string[];
}

/**
 * Creates a fresh copy of Nova's `services` table (the columns the servicegroup driver reads and
 * writes) with one `nova-compute` row per host, and returns its name and the rows' ids.
 */
export async function createServicesTable(database: NovaDatabase, count: number): Promise<ServicesTable> {
  const table = `nova_services_${randomId()}`;
  return database.dialect === "mysql"
    ? createOnMySQL(database.connectionString, table, count)
    : createOnPostgres(database.connectionString, table, count);
}

async function createOnPostgres(
  connectionString: string,
  table: string,
  count: number,
): Promise<ServicesTable> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ${table} (
      id serial PRIMARY KEY,
      host varchar(255),
      "binary" varchar(255),
      topic varchar(255),
      report_count integer NOT NULL DEFAULT 0,
      disabled boolean DEFAULT false,
      disabled_reason varchar(255),
      forced_down boolean DEFAULT false,
      version integer DEFAULT 0,
      uuid varchar(36),
      created_at timestamp with time zone,
      updated_at timestamp with time zone,
      deleted_at timestamp with time zone,
      deleted integer DEFAULT 0,
      UNIQUE (host, "binary", deleted)
    )`);
    const { rows } = await client.query<{ id: number; host: string }>(
      `INSERT INTO ${table} (host, "binary", topic, created_at, updated_at, uuid)
       SELECT 'compute-' || g, 'nova-compute', 'compute', now(), now(), gen_random_uuid()::text
       FROM generate_series(1, $1) AS g RETURNING id, host`,
      [count],
    );
    return { table, ids: rows.map((r) => r.id), hosts: rows.map((r) => r.host) };
  } finally {
    await client.end();
  }
}

/** Rows per multi-row INSERT on MySQL. */
const INSERT_BATCH = 500;

/**
 * Nova's MySQL `services` table (InnoDB, utf8, its unique keys), but for the timestamps' precision: Nova's
 * are `DATETIME` (whole seconds); here `DATETIME(6)`, as precise as the PostgreSQL copy's `timestamptz`, so
 * that `updated_at` keeps the client's clock to the millisecond on both servers and the detection bound
 * (service_down_time − report_interval … + poll) holds alike. Times are UTC (the `mysql2` pools use
 * `timezone: "Z"`, the server writes `UTC_TIMESTAMP`).
 */
async function createOnMySQL(uri: string, table: string, count: number): Promise<ServicesTable> {
  const connection = await mysql.createConnection({ uri, timezone: "Z" });
  try {
    await connection.query(`CREATE TABLE ${table} (
      id INT NOT NULL AUTO_INCREMENT,
      host VARCHAR(255),
      \`binary\` VARCHAR(255),
      topic VARCHAR(255),
      report_count INT NOT NULL DEFAULT 0,
      disabled TINYINT(1) DEFAULT 0,
      disabled_reason VARCHAR(255),
      forced_down TINYINT(1) DEFAULT 0,
      version INT DEFAULT 0,
      uuid VARCHAR(36),
      created_at DATETIME(6),
      updated_at DATETIME(6),
      deleted_at DATETIME(6),
      deleted INT DEFAULT 0,
      PRIMARY KEY (id),
      UNIQUE KEY uniq_services0host0topic0deleted (host, topic, deleted),
      UNIQUE KEY uniq_services0host0binary0deleted (host, \`binary\`, deleted),
      UNIQUE KEY services_uuid_idx (uuid)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8`);
    for (let first = 1; first <= count; first += INSERT_BATCH) {
      const hosts = Array.from(
        { length: Math.min(INSERT_BATCH, count - first + 1) },
        (_, i) => `compute-${first + i}`,
      );
      await connection.query(
        `INSERT INTO ${table} (host, \`binary\`, topic, created_at, updated_at, uuid) VALUES ${hosts
          .map(() => "(?, 'nova-compute', 'compute', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UUID())")
          .join(", ")}`,
        hosts,
      );
    }
    const [rows] = await connection.query(`SELECT id, host FROM ${table} ORDER BY id`);
    const services = rows as { id: number; host: string }[];
    return { table, ids: services.map((r) => r.id), hosts: services.map((r) => r.host) };
  } finally {
    await connection.end();
  }
}

/** Starts a Nova peer process (services or a consumer). */
export async function startNovaAgent(scope: Scope, label: string): Promise<ChildAgent> {
  return scope.track(
    await ChildAgent.start({ label: `nova:${label}`, command: process.execPath, args: [NOVA_AGENT] }),
  );
}
