/**
 * The Nova DB servicegroup pattern as a peer of the rollcall benchmarks, on PostgreSQL (through `pg`) or
 * MySQL/MariaDB (through `mysql2`), as each request's `dialect` says:
 *
 * - services: every `report_interval` each service saves its row — as `Service.save()` does through
 *   nova-conductor: one transaction `SELECT … FROM services WHERE id = ?` + `UPDATE services SET
 *   updated_at = <client clock>, report_count = report_count + 1 WHERE id = ?` on a pooled connection;
 * - a consumer (the scheduler): every `pollMs` it reads the compute services and decides each one
 *   up or down as nova/servicegroup/drivers/db.py does, `abs(utcnow() - updated_at) <= service_down_time`.
 *
 * Both dialects send the same statements; only placeholders (`$n` / `?`) and identifier quoting differ.
 * Times are UTC on both: `pg` reads `timestamptz` as instants, the `mysql2` pool writes and reads
 * `DATETIME` as UTC (`timezone: "Z"`).
 *
 * JSON-line commands on stdin, replies and events on stdout (the harness's agent protocol).
 */
import { createInterface } from "node:readline";
import mysql from "mysql2/promise";
import pg from "pg";
import type { NovaDatabase } from "../src/scenarios/nova-table.js";

type Row = Record<string, unknown>;

/** One pooled connection, checked out for a transaction. */
interface Session {
  /** Runs one statement, `?` placeholders. */
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  release(): void;
}

/** A pool of connections to the services table's database, whichever the dialect. */
interface Database {
  connect(): Promise<Session>;
  /** Runs one statement on any pooled connection, `?` placeholders. */
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Quotes an identifier (`binary` is reserved on both). */
  quote(name: string): string;
  end(): Promise<void>;
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the statements here have no `?` in literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function postgresDatabase(connectionString: string, size: number): Database {
  const pool = new pg.Pool({ connectionString, max: size });
  pool.on("error", () => {});
  const run = async (client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) =>
    (await client.query<Row>(numbered(sql), params)).rows;
  return {
    async connect() {
      const client = await pool.connect();
      return { query: (sql, params) => run(client, sql, params), release: () => client.release() };
    },
    query: (sql, params) => run(pool, sql, params),
    quote: (name) => `"${name}"`,
    end: () => pool.end(),
  };
}

function mysqlDatabase(uri: string, size: number): Database {
  // `query`, not `execute`: parameters interpolated by the client, as PyMySQL (Nova's driver) does.
  const pool = mysql.createPool({ uri, connectionLimit: size, timezone: "Z" });
  const run = async (client: mysql.Pool | mysql.PoolConnection, sql: string, params?: unknown[]) => {
    const [rows] = await client.query(sql, params);
    return Array.isArray(rows) ? (rows as Row[]) : [];
  };
  return {
    async connect() {
      const connection = await pool.getConnection();
      return { query: (sql, params) => run(connection, sql, params), release: () => connection.release() };
    },
    query: (sql, params) => run(pool, sql, params),
    quote: (name) => `\`${name}\``,
    end: () => pool.end(),
  };
}

/** A pool of `size` connections to the table's database. */
function openDatabase({ dialect, connectionString }: NovaDatabase, size: number): Database {
  return dialect === "mysql"
    ? mysqlDatabase(connectionString, size)
    : postgresDatabase(connectionString, size);
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const databases: Database[] = [];
const timers: NodeJS.Timeout[] = [];
let beats = 0;
let beatErrors = 0;
let polls = 0;

interface ServicesRequest extends NovaDatabase {
  table: string;
  ids: number[];
  reportIntervalMs: number;
  poolSize: number;
}

function services(request: ServicesRequest) {
  const db = openDatabase(request, request.poolSize);
  databases.push(db);
  const table = request.table;
  const beat = async (id: number) => {
    const client = await db.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT * FROM ${table} WHERE id = ? AND deleted = 0`, [id]);
      await client.query(`UPDATE ${table} SET updated_at = ?, report_count = report_count + 1 WHERE id = ?`, [
        new Date(),
        id,
      ]);
      await client.query("COMMIT");
      beats++;
    } catch {
      beatErrors++;
      await client.query("ROLLBACK").catch(() => {});
    } finally {
      client.release();
    }
  };
  for (const id of request.ids) {
    // Services start at random moments, as real ones do: their beats do not line up.
    const first = setTimeout(() => {
      void beat(id);
      timers.push(setInterval(() => void beat(id), request.reportIntervalMs));
    }, Math.random() * request.reportIntervalMs);
    timers.push(first);
  }
  return { services: request.ids.length };
}

interface ConsumerRequest extends NovaDatabase {
  table: string;
  serviceDownTimeMs: number;
  pollMs: number;
}

async function consumer(request: ConsumerRequest) {
  const db = openDatabase(request, 1);
  databases.push(db);
  const up = new Map<string, boolean>();
  const poll = async () => {
    const rows = (await db.query(
      `SELECT * FROM ${request.table} WHERE ${db.quote("binary")} = 'nova-compute' AND deleted = 0`,
    )) as { host: string; updated_at: Date | null; created_at: Date }[];
    polls++;
    const at = now();
    for (const row of rows) {
      const last = (row.updated_at ?? row.created_at).getTime();
      const isUp = Math.abs(Date.now() - last) <= request.serviceDownTimeMs;
      const before = up.get(row.host);
      up.set(row.host, isUp);
      if (before !== undefined && before !== isUp) send({ event: isUp ? "up" : "down", host: row.host, at });
    }
  };
  await poll();
  timers.push(setInterval(() => void poll().catch(() => {}), request.pollMs));
  return { services: up.size, up: [...up.values()].filter(Boolean).length };
}

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case "services":
      return services(args as unknown as ServicesRequest);
    case "consumer":
      return consumer(args as unknown as ConsumerRequest);
    case "stats": {
      const cpu = process.cpuUsage();
      return { cpuSeconds: (cpu.user + cpu.system) / 1e6, beats, beatErrors, polls };
    }
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const request = JSON.parse(line) as { id: number; cmd: string } & Record<string, unknown>;
  handle(request.cmd, request).then(
    (result) => send({ id: request.id, ok: true, result }),
    (error: unknown) =>
      send({ id: request.id, ok: false, error: String((error as Error)?.message ?? error) }),
  );
});
lines.on("close", () => {
  for (const timer of timers) clearTimeout(timer);
  void Promise.allSettled(databases.map((db) => db.end())).finally(() => process.exit(0));
});

send({ event: "ready", pid: process.pid, at: now() });
