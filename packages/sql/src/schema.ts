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
  /** Configuration entries (`coord.config(name)`): persistent, bound to no session (schema version 3). */
  config: string;
  /**
   * The configuration change log (put / delete), numbered by the same namespace revision counter as
   * {@link changes}: together they are one ordered log, and a put's revision is the entry's version.
   */
  configChanges: string;
  /**
   * PostgreSQL only: the functions that run a join, a leave, an update, a reap and a configuration put or
   * delete server-side in one statement, so the namespace lock is held for the statements' execution only,
   * not for client round trips.
   */
  functions: {
    join: string;
    leave: string;
    update: string;
    reap: string;
    configPut: string;
    configRemove: string;
  };
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
    config: `${prefix}config`,
    configChanges: `${prefix}config_changes`,
    functions: {
      join: `${prefix}join`,
      leave: `${prefix}leave`,
      update: `${prefix}update`,
      reap: `${prefix}reap`,
      configPut: `${prefix}config_put`,
      configRemove: `${prefix}config_remove`,
    },
  };
}

/** The newest schema version this package writes. */
export const SCHEMA_VERSION = 3;

/** The longest configuration store name the tables hold (core allows 128 characters). */
const STORE_LENGTH = 160;
/** The longest configuration key the tables hold (core allows 256 characters). */
const KEY_LENGTH = 512;

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

/** One step of the layout; runs inside the migration transaction, under the database-wide lock. */
type Migration = (trx: Knex.Transaction, dialect: Dialect, t: Tables) => PromiseLike<unknown>;

const migrations: Migration[] = [
  // 1: the initial layout.
  (trx, dialect, t) =>
    trx.schema
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
  // 2: PostgreSQL's join, leave and update as functions (nothing for the other dialects).
  async (trx, dialect, t) => {
    if (dialect === "postgresql") await trx.schema.raw(pgFunctions(t));
  },
  // 3: the configuration store and its change log — new tables only, so a database of version 2 keeps its
  // groups, members and change log untouched (and drivers of version 2 go on working beside it). Each table
  // is created only if missing: MySQL commits DDL at once, so a step cut short is completed by the next start.
  async (trx, dialect, t) => {
    if (!(await trx.schema.hasTable(t.config))) {
      await trx.schema.createTable(t.config, (table) => {
        // MySQL: values are any JSON text, whatever the database's default character set.
        if (dialect === "mysql") table.charset("utf8mb4");
        table.integer("ns_id").notNullable();
        name(table, dialect, "store", STORE_LENGTH);
        name(table, dialect, "entry_key", KEY_LENGTH);
        json(table, dialect, "value").notNullable();
        table.bigInteger("version").notNullable();
        table.bigInteger("updated_at").notNullable();
        table.primary(["ns_id", "store", "entry_key"]);
      });
    }
    if (!(await trx.schema.hasTable(t.configChanges))) {
      await trx.schema.createTable(t.configChanges, (table) => {
        if (dialect === "mysql") table.charset("utf8mb4");
        table.integer("ns_id").notNullable();
        table.bigInteger("revision").notNullable();
        name(table, dialect, "store", STORE_LENGTH);
        name(table, dialect, "entry_key", KEY_LENGTH);
        name(table, dialect, "kind", 8);
        json(table, dialect, "value").nullable();
        table.bigInteger("updated_at").nullable();
        table.bigInteger("created_at").notNullable();
        table.primary(["ns_id", "revision"]);
        // Short explicit index names: knex's generated ones outgrow MySQL's 64 characters under a long prefix.
        table.index(["ns_id", "store", "revision"], `${t.configChanges}_store`);
        table.index(["ns_id", "created_at"], `${t.configChanges}_time`);
      });
    }
    if (dialect === "postgresql") await trx.schema.raw(pgConfigFunctions(t));
  },
];

/** The result columns every function of {@link pgFunctions} returns (one row). */
const RESULT = "r_status text, r_seq bigint, r_joined_at bigint, r_updated_at bigint, r_owner text";

/**
 * PostgreSQL functions for the writes every member makes all the time — join, leave and update — and for
 * reaping, which every live coordinator attempts when it notices a passed deadline. Each runs
 * what `SqlStore` otherwise sends statement by statement — take the namespace's counter row lock, check,
 * write the member and the change log, move the revision on, NOTIFY — inside one call, so the lock that
 * orders every writer of a namespace is held for microseconds of server work instead of six client
 * round trips. Outcomes other than `ok` come back as `r_status` (`session_gone`, `group_not_found`,
 * `member_exists`, `owner_expired` with the holder's session in `r_owner`, `not_joined`,
 * `no_namespace`); the caller turns them into errors. The clock is read once the lock is held.
 */
export function pgFunctions(t: Tables): string {
  const q = (name: string) => `"${name}"`;
  const now = "(floor(extract(epoch from clock_timestamp()) * 1000))::bigint";
  const fail = (status: string, owner = "NULL::text") =>
    `RETURN QUERY SELECT '${status}'::text, NULL::bigint, NULL::bigint, NULL::bigint, ${owner}; RETURN;`;
  const lock = `SELECT n.revision INTO v_rev FROM ${q(t.namespaces)} n WHERE n.id = p_ns FOR UPDATE;
  IF NOT FOUND THEN ${fail("no_namespace")} END IF;
  v_now := ${now};`;
  const logChange = (kind: string, metadata: string, seq: string, joinedAt: string, updatedAt: string) =>
    `INSERT INTO ${q(t.changes)} (ns_id, revision, group_name, kind, member_id, reason, metadata, seq, joined_at, updated_at, created_at)
    VALUES (p_ns, v_rev, p_group, '${kind}', p_member, ${kind === "leave" ? "'left'" : "NULL"}, ${metadata}, ${seq}, ${joinedAt}, ${updatedAt}, v_now);
  UPDATE ${q(t.namespaces)} SET revision = v_rev WHERE id = p_ns;
  PERFORM pg_notify(p_channel, p_group);`;
  const member = `m.ns_id = p_ns AND m.group_name = p_group AND m.member_id = p_member`;
  return `
CREATE OR REPLACE FUNCTION ${q(t.functions.join)}(p_ns integer, p_session text, p_group text, p_member text, p_metadata text, p_channel text)
RETURNS TABLE(${RESULT}) LANGUAGE plpgsql AS $rollcall$
DECLARE v_rev bigint; v_now bigint; v_mine bigint; v_cur record;
BEGIN
  ${lock}
  SELECT s.deadline INTO v_mine FROM ${q(t.sessions)} s WHERE s.id = p_session;
  IF v_mine IS NULL OR v_mine <= v_now THEN ${fail("session_gone")} END IF;
  PERFORM 1 FROM ${q(t.groups)} g WHERE g.ns_id = p_ns AND g.name = p_group;
  IF NOT FOUND THEN ${fail("group_not_found")} END IF;
  SELECT m.session_id, m.metadata, m.seq, m.joined_at, m.updated_at, s.deadline INTO v_cur
    FROM ${q(t.members)} m LEFT JOIN ${q(t.sessions)} s ON s.id = m.session_id WHERE ${member};
  IF FOUND THEN
    IF v_cur.session_id <> p_session THEN
      IF v_cur.deadline IS NOT NULL AND v_cur.deadline > v_now THEN ${fail("member_exists")} END IF;
      ${fail("owner_expired", "v_cur.session_id::text")}
    END IF;
    -- A retried join of this session: the record as it is, or updated to the metadata asked for.
    IF v_cur.metadata = p_metadata THEN
      RETURN QUERY SELECT 'ok'::text, v_cur.seq, v_cur.joined_at, v_cur.updated_at, NULL::text; RETURN;
    END IF;
    v_rev := v_rev + 1;
    UPDATE ${q(t.members)} m SET metadata = p_metadata, updated_at = v_now WHERE ${member};
    ${logChange("update", "p_metadata", "v_cur.seq", "v_cur.joined_at", "v_now")}
    RETURN QUERY SELECT 'ok'::text, v_cur.seq, v_cur.joined_at, v_now, NULL::text; RETURN;
  END IF;
  v_rev := v_rev + 1;
  INSERT INTO ${q(t.members)} (ns_id, group_name, member_id, session_id, metadata, seq, joined_at, updated_at)
    VALUES (p_ns, p_group, p_member, p_session, p_metadata, v_rev, v_now, v_now);
  ${logChange("join", "p_metadata", "v_rev", "v_now", "v_now")}
  RETURN QUERY SELECT 'ok'::text, v_rev, v_now, v_now, NULL::text;
END
$rollcall$;

CREATE OR REPLACE FUNCTION ${q(t.functions.leave)}(p_ns integer, p_session text, p_group text, p_member text, p_channel text)
RETURNS TABLE(${RESULT}) LANGUAGE plpgsql AS $rollcall$
DECLARE v_rev bigint; v_now bigint;
BEGIN
  ${lock}
  DELETE FROM ${q(t.members)} m WHERE ${member} AND m.session_id = p_session;
  IF NOT FOUND THEN ${fail("not_joined")} END IF;
  v_rev := v_rev + 1;
  ${logChange("leave", "NULL", "NULL", "NULL", "NULL")}
  RETURN QUERY SELECT 'ok'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
END
$rollcall$;

CREATE OR REPLACE FUNCTION ${q(t.functions.update)}(p_ns integer, p_session text, p_group text, p_member text, p_metadata text, p_channel text)
RETURNS TABLE(${RESULT}) LANGUAGE plpgsql AS $rollcall$
DECLARE v_rev bigint; v_now bigint; v_cur record;
BEGIN
  ${lock}
  SELECT m.seq, m.joined_at, s.deadline INTO v_cur
    FROM ${q(t.members)} m LEFT JOIN ${q(t.sessions)} s ON s.id = m.session_id WHERE ${member} AND m.session_id = p_session;
  IF NOT FOUND THEN ${fail("not_joined")} END IF;
  IF v_cur.deadline IS NULL OR v_cur.deadline <= v_now THEN ${fail("session_gone")} END IF;
  v_rev := v_rev + 1;
  UPDATE ${q(t.members)} m SET metadata = p_metadata, updated_at = v_now WHERE ${member};
  ${logChange("update", "p_metadata", "v_cur.seq", "v_cur.joined_at", "v_now")}
  RETURN QUERY SELECT 'ok'::text, v_cur.seq, v_cur.joined_at, v_now, NULL::text;
END
$rollcall$;

-- Removes the sessions past their deadline and those in p_force, their members leaving ('expired') in
-- seq order; returns how many left. Looks without the lock first: of the coordinators that notice the
-- same passed deadline, only those that still find it after the first reaper queue for the lock.
CREATE OR REPLACE FUNCTION ${q(t.functions.reap)}(p_ns integer, p_force text[], p_channel text)
RETURNS integer LANGUAGE plpgsql AS $rollcall$
DECLARE v_rev bigint; v_now bigint; v_count integer := 0; v_groups text[] := '{}'; r record; g text;
BEGIN
  IF cardinality(p_force) = 0 AND NOT EXISTS (SELECT 1 FROM ${q(t.sessions)} s WHERE s.ns_id = p_ns AND s.deadline <= ${now}) THEN
    RETURN 0;
  END IF;
  SELECT n.revision INTO v_rev FROM ${q(t.namespaces)} n WHERE n.id = p_ns FOR UPDATE;
  IF NOT FOUND THEN RETURN 0; END IF;
  v_now := ${now};
  FOR r IN
    WITH gone AS (
      DELETE FROM ${q(t.sessions)} s WHERE s.ns_id = p_ns AND (s.deadline <= v_now OR s.id = ANY(p_force)) RETURNING s.id
    ), left_members AS (
      DELETE FROM ${q(t.members)} m WHERE m.ns_id = p_ns
        AND (m.session_id IN (SELECT gone.id FROM gone) OR m.session_id = ANY(p_force))
      RETURNING m.group_name, m.member_id, m.seq
    )
    SELECT * FROM left_members ORDER BY seq
  LOOP
    v_rev := v_rev + 1;
    v_count := v_count + 1;
    INSERT INTO ${q(t.changes)} (ns_id, revision, group_name, kind, member_id, reason, created_at)
      VALUES (p_ns, v_rev, r.group_name, 'leave', r.member_id, 'expired', v_now);
    IF NOT (r.group_name = ANY(v_groups)) THEN v_groups := v_groups || r.group_name::text; END IF;
  END LOOP;
  IF v_count > 0 THEN
    UPDATE ${q(t.namespaces)} SET revision = v_rev WHERE id = p_ns;
    FOREACH g IN ARRAY v_groups LOOP PERFORM pg_notify(p_channel, g); END LOOP;
  END IF;
  RETURN v_count;
END
$rollcall$;
`;
}

/**
 * PostgreSQL functions for the configuration writes (schema version 3), one call each, like {@link pgFunctions}:
 * take the namespace's counter row lock, make the ONE conditional write — an upsert, an insert that a
 * present key makes a no-op (`ifVersion` 0), an update or delete `WHERE version = p_if` — and, only if it
 * wrote, append to the configuration change log, move the revision on (the new revision is the entry's
 * version) and NOTIFY `p_topic`. A compare-and-set that matched nothing answers `mismatch` with the version
 * found (NULL: absent), read under the same lock; nothing was written. `r_status` is `ok`, `mismatch`,
 * `absent` (a delete without `p_if` that found nothing) or `no_namespace`.
 */
export function pgConfigFunctions(t: Tables): string {
  const q = (name: string) => `"${name}"`;
  const now = "(floor(extract(epoch from clock_timestamp()) * 1000))::bigint";
  const entry = "c.ns_id = p_ns AND c.store = p_store AND c.entry_key = p_key";
  const lock = `SELECT n.revision INTO v_rev FROM ${q(t.namespaces)} n WHERE n.id = p_ns FOR UPDATE;
  IF NOT FOUND THEN RETURN QUERY SELECT 'no_namespace'::text, NULL::bigint, NULL::bigint; RETURN; END IF;
  v_now := ${now};`;
  const mismatch = `SELECT c.version INTO v_found FROM ${q(t.config)} c WHERE ${entry};
      RETURN QUERY SELECT 'mismatch'::text, v_found, NULL::bigint; RETURN;`;
  const insert = `INSERT INTO ${q(t.config)} (ns_id, store, entry_key, value, version, updated_at)
      VALUES (p_ns, p_store, p_key, p_value, v_rev, v_now)`;
  const logChange = (kind: string, value: string, updatedAt: string) =>
    `INSERT INTO ${q(t.configChanges)} (ns_id, revision, store, entry_key, kind, value, updated_at, created_at)
    VALUES (p_ns, v_rev, p_store, p_key, '${kind}', ${value}, ${updatedAt}, v_now);
  UPDATE ${q(t.namespaces)} SET revision = v_rev WHERE id = p_ns;
  PERFORM pg_notify(p_channel, p_topic);`;
  return `
CREATE OR REPLACE FUNCTION ${q(t.functions.configPut)}(p_ns integer, p_store text, p_key text, p_value text, p_if bigint, p_channel text, p_topic text)
RETURNS TABLE(r_status text, r_version bigint, r_updated_at bigint) LANGUAGE plpgsql AS $rollcall$
DECLARE v_rev bigint; v_now bigint; v_found bigint;
BEGIN
  ${lock}
  v_rev := v_rev + 1;
  IF p_if IS NULL THEN
    ${insert}
      ON CONFLICT (ns_id, store, entry_key) DO UPDATE
      SET value = EXCLUDED.value, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at;
  ELSIF p_if = 0 THEN
    ${insert}
      ON CONFLICT (ns_id, store, entry_key) DO NOTHING;
    IF NOT FOUND THEN
      ${mismatch}
    END IF;
  ELSE
    UPDATE ${q(t.config)} c SET value = p_value, version = v_rev, updated_at = v_now WHERE ${entry} AND c.version = p_if;
    IF NOT FOUND THEN
      ${mismatch}
    END IF;
  END IF;
  ${logChange("put", "p_value", "v_now")}
  RETURN QUERY SELECT 'ok'::text, v_rev, v_now;
END
$rollcall$;

CREATE OR REPLACE FUNCTION ${q(t.functions.configRemove)}(p_ns integer, p_store text, p_key text, p_if bigint, p_channel text, p_topic text)
RETURNS TABLE(r_status text, r_version bigint, r_updated_at bigint) LANGUAGE plpgsql AS $rollcall$
DECLARE v_rev bigint; v_now bigint; v_found bigint;
BEGIN
  ${lock}
  DELETE FROM ${q(t.config)} c WHERE ${entry} AND (p_if IS NULL OR c.version = p_if);
  IF NOT FOUND THEN
    IF p_if IS NULL THEN
      RETURN QUERY SELECT 'absent'::text, NULL::bigint, NULL::bigint; RETURN;
    END IF;
    ${mismatch}
  END IF;
  v_rev := v_rev + 1;
  ${logChange("delete", "NULL", "NULL")}
  RETURN QUERY SELECT 'ok'::text, v_rev, v_now;
END
$rollcall$;
`;
}

/**
 * Brings the tables under `t` to {@link SCHEMA_VERSION}, safely when several processes start at once:
 * the whole step runs under a database-wide lock (PostgreSQL advisory lock, MySQL `GET_LOCK`, SQLite's
 * write lock) and re-reads the version after taking it. Idempotent. A database at a newer version than
 * `target` is left as it is.
 *
 * @param target the version to bring the tables to (tests build an older layout with it).
 */
export async function migrate(
  knex: Knex,
  dialect: Dialect,
  t: Tables,
  target: number = SCHEMA_VERSION,
): Promise<void> {
  if (dialect !== "sqlite") return migrateOnce(knex, dialect, t, target);
  // SQLite: another process may hold the write lock (or a deferred transaction that read before writing
  // can lose the race for it): the whole step is tried again, asynchronously, until the busy deadline.
  return writeQueue(knex).run(() => migrateOnce(knex, dialect, t, target));
}

async function migrateOnce(knex: Knex, dialect: Dialect, t: Tables, target: number): Promise<void> {
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
      while (version < Math.min(target, migrations.length)) {
        const step = migrations[version];
        if (step === undefined) break;
        await step(trx, dialect, t);
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
