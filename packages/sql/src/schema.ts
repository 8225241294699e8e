import type { Knex } from "knex";
import type { Dialect } from "./options.js";
import { writeQueue } from "./sqlite-busy.js";

/** The table names under a prefix. */
export interface Tables {
  /** Schema version (one row). */
  schema: string;
  /** One row per namespace: its id, its revision counter (also `seq`) and the pruned mark. */
  namespaces: string;
  /** One row per coordinator session: its deadline on the database clock. */
  sessions: string;
  /** Persistent groups. */
  groups: string;
  /** Ephemeral members, bound to a session. */
  members: string;
  /** The ordered change log (join / update / leave with reason), per namespace. */
  changes: string;
}

/** The table names for a prefix (already validated as an identifier). */
export function tableNames(prefix: string): Tables {
  return {
    schema: `${prefix}schema`,
    namespaces: `${prefix}namespaces`,
    sessions: `${prefix}sessions`,
    groups: `${prefix}groups`,
    members: `${prefix}members`,
    changes: `${prefix}changes`,
  };
}

/** The newest schema version this package writes. */
export const SCHEMA_VERSION = 1;

// Names are ASCII (core validates them); in MySQL a binary ASCII collation keeps keys short enough for
// InnoDB's 3072-byte index limit and compares case-sensitively, as PostgreSQL and SQLite do.
function name(
  table: Knex.CreateTableBuilder,
  dialect: Dialect,
  column: string,
  length: number,
): Knex.ColumnBuilder {
  const col = table.string(column, length).notNullable();
  return dialect === "mysql" ? col.collate("ascii_bin") : col;
}

function json(table: Knex.CreateTableBuilder, dialect: Dialect, column: string): Knex.ColumnBuilder {
  // MySQL's TEXT holds 65 535 bytes; metadata may be 65 536.
  return dialect === "mysql" ? table.text(column, "mediumtext") : table.text(column);
}

type Migration = (schema: Knex.SchemaBuilder, dialect: Dialect, t: Tables) => Knex.SchemaBuilder;

const migrations: Migration[] = [
  // 1: the initial layout.
  (schema, dialect, t) =>
    schema
      .createTable(t.namespaces, (table) => {
        table.increments("id").primary();
        name(table, dialect, "name", 520).unique();
        table.bigInteger("revision").notNullable().defaultTo(0);
        table.bigInteger("pruned").notNullable().defaultTo(0);
      })
      .createTable(t.sessions, (table) => {
        name(table, dialect, "id", 36).primary();
        table.integer("ns_id").notNullable();
        name(table, dialect, "member_id", 160);
        table.bigInteger("deadline").notNullable();
        table.bigInteger("created_at").notNullable();
        table.index(["ns_id", "deadline"]);
      })
      .createTable(t.groups, (table) => {
        table.integer("ns_id").notNullable();
        name(table, dialect, "name", 160);
        table.bigInteger("created_at").notNullable();
        table.primary(["ns_id", "name"]);
      })
      .createTable(t.members, (table) => {
        table.integer("ns_id").notNullable();
        name(table, dialect, "group_name", 160);
        name(table, dialect, "member_id", 160);
        name(table, dialect, "session_id", 36);
        json(table, dialect, "metadata").notNullable();
        table.bigInteger("seq").notNullable();
        table.bigInteger("joined_at").notNullable();
        table.bigInteger("updated_at").notNullable();
        table.primary(["ns_id", "group_name", "member_id"]);
        table.index(["session_id"]);
      })
      .createTable(t.changes, (table) => {
        table.integer("ns_id").notNullable();
        table.bigInteger("revision").notNullable();
        name(table, dialect, "group_name", 160);
        name(table, dialect, "kind", 8);
        name(table, dialect, "member_id", 160);
        table.string("reason", 8).nullable();
        json(table, dialect, "metadata").nullable();
        table.bigInteger("seq").nullable();
        table.bigInteger("joined_at").nullable();
        table.bigInteger("updated_at").nullable();
        table.bigInteger("created_at").notNullable();
        table.primary(["ns_id", "revision"]);
        table.index(["ns_id", "group_name", "revision"]);
        table.index(["ns_id", "created_at"]);
      }),
];

/**
 * Brings the tables under `t` to {@link SCHEMA_VERSION}, safely when several processes start at once:
 * the whole step runs under a database-wide lock (PostgreSQL advisory lock, MySQL `GET_LOCK`, SQLite's
 * write lock) and re-reads the version after taking it. Idempotent.
 */
export async function migrate(knex: Knex, dialect: Dialect, t: Tables): Promise<void> {
  if (dialect !== "sqlite") return migrateOnce(knex, dialect, t);
  // SQLite: another process may hold the write lock (or a deferred transaction that read before writing
  // can lose the race for it): the whole step is tried again, asynchronously, until the busy deadline.
  return writeQueue(knex).run(() => migrateOnce(knex, dialect, t));
}

async function migrateOnce(knex: Knex, dialect: Dialect, t: Tables): Promise<void> {
  const lockName = `rollcall:${t.schema}`;
  await knex.transaction(async (trx) => {
    if (dialect === "postgresql") await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [lockName]);
    if (dialect === "mysql") await trx.raw("SELECT GET_LOCK(?, 60) AS got", [lockName]);
    try {
      if (!(await trx.schema.hasTable(t.schema))) {
        await trx.schema.createTable(t.schema, (table) => {
          table.integer("id").primary();
          table.integer("version").notNullable();
        });
      }
      // A write first, so SQLite takes its write lock before anything else is read.
      await trx.raw(
        `${dialect === "postgresql" ? "INSERT" : dialect === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE"} INTO ${quote(dialect, t.schema)} (id, version) VALUES (1, 0)${dialect === "postgresql" ? " ON CONFLICT DO NOTHING" : ""}`,
      );
      const row = await trx(t.schema).where({ id: 1 }).first("version");
      let version = Number((row as { version?: unknown } | undefined)?.version ?? 0);
      while (version < migrations.length) {
        const step = migrations[version];
        if (step === undefined) break;
        await step(trx.schema, dialect, t);
        version++;
        await trx(t.schema).where({ id: 1 }).update({ version });
      }
    } finally {
      if (dialect === "mysql") await trx.raw("SELECT RELEASE_LOCK(?) AS released", [lockName]);
    }
  });
}

function quote(dialect: Dialect, identifier: string): string {
  return dialect === "mysql" ? `\`${identifier}\`` : `"${identifier}"`;
}
