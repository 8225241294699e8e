import {
  type ConfigChange,
  type ConfigChangeBatch,
  type ConfigListing,
  type ConfigRecord,
  configHintTopic,
  type Json,
  RollcallError,
  versionMismatch,
} from "@rollcall/core/driver";
import { revisionWentBack } from "./revision-went-back.js";
import { big, bigOrNull, ms, type Row } from "./rows.js";
import { CHANGES_BATCH, type SqlStore, type WriteTx } from "./sql-store.js";

/**
 * The SQL of the configuration store, over the namespace of a {@link SqlStore}: entries in the `config`
 * table, keyed `(ns_id, store, entry_key)`, bound to no session (nothing the reaper or a group deletion
 * touches); every write is ONE conditional statement in a transaction that holds the namespace's counter
 * row and appends to the configuration change log, numbered by the same counter as the membership change
 * log — so a put's version is its change-log revision, greater than every version the key ever had, also
 * across a delete and a re-create. PostgreSQL runs each write as one call of a function (`config_put`,
 * `config_remove`), the others as a transaction of a few statements.
 */
export class SqlConfigStore {
  /** PostgreSQL: the NOTIFY channel of the namespace; the writes go through the functions. */
  private readonly pgChannel: string | undefined;

  constructor(
    private readonly db: SqlStore,
    channel: string | undefined,
  ) {
    this.pgChannel = db.dialect === "postgresql" ? channel : undefined;
  }

  /** `AND <key> starts with prefix`, and its bindings: `substr` compares case-sensitively everywhere. */
  private prefixCondition(column: string, prefix: string): { sql: string; bindings: unknown[] } {
    if (prefix === "") return { sql: "", bindings: [] };
    const length = this.db.dialect === "postgresql" ? "?::integer" : "?";
    return { sql: ` AND substr(${column}, 1, ${length}) = ?`, bindings: [prefix.length, prefix] };
  }

  async get(store: string, key: string): Promise<ConfigRecord | undefined> {
    const { db } = this;
    const rows = await db.reading(() =>
      db.rows(
        db.knex,
        `SELECT entry_key, value, version, updated_at FROM ${db.tables.config} WHERE ns_id = ? AND store = ? AND entry_key = ?`,
        [db.nsId, store, key],
      ),
    );
    const row = rows[0];
    return row === undefined ? undefined : recordOf(row);
  }

  async put(store: string, key: string, value: Json, ifVersion: bigint | undefined): Promise<ConfigRecord> {
    const text = JSON.stringify(value);
    if (this.pgChannel !== undefined) return this.pgPut(this.pgChannel, store, key, text, ifVersion);
    const { db } = this;
    const q = db.tables;
    return db.write(async (tx) => {
      const version = tx.next();
      const row = [db.nsId, store, key, text, db.v(version), tx.now];
      const insert = `INTO ${q.config} (ns_id, store, entry_key, value, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)`;
      let written: number;
      if (ifVersion === undefined) {
        const upsert =
          db.dialect === "mysql"
            ? " ON DUPLICATE KEY UPDATE value = VALUES(value), version = VALUES(version), updated_at = VALUES(updated_at)"
            : " ON CONFLICT (ns_id, store, entry_key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at";
        await db.affected(tx.trx, `INSERT ${insert}${upsert}`, row);
        written = 1;
      } else if (ifVersion === 0n) {
        // The primary key makes the insert a no-op when the key is present.
        const { verb, suffix } = db.sql.insertIgnore;
        written = await db.affected(tx.trx, `${verb} ${insert}${suffix}`, row);
      } else {
        written = await db.affected(
          tx.trx,
          `UPDATE ${q.config} SET value = ?, version = ?, updated_at = ? WHERE ns_id = ? AND store = ? AND entry_key = ? AND version = ?`,
          [text, db.v(version), tx.now, db.nsId, store, key, db.v(ifVersion)],
        );
      }
      // Nothing was written: the transaction rolls back (the revision allocated above is not used).
      if (written === 0)
        throw versionMismatch(store, key, ifVersion ?? 0n, await this.versionIn(tx, store, key));
      await this.logChange(tx, store, key, "put", text, version);
      return { key, value: JSON.parse(text) as Json, version, updatedAt: new Date(tx.now) };
    });
  }

  async remove(store: string, key: string, ifVersion: bigint | undefined): Promise<boolean> {
    if (this.pgChannel !== undefined) return this.pgRemove(this.pgChannel, store, key, ifVersion);
    const { db } = this;
    return db.write(async (tx) => {
      const conditional = ifVersion === undefined ? "" : " AND version = ?";
      const deleted = await db.affected(
        tx.trx,
        `DELETE FROM ${db.tables.config} WHERE ns_id = ? AND store = ? AND entry_key = ?${conditional}`,
        [db.nsId, store, key, ...(ifVersion === undefined ? [] : [db.v(ifVersion)])],
      );
      if (deleted === 0) {
        if (ifVersion === undefined) return false;
        throw versionMismatch(store, key, ifVersion, await this.versionIn(tx, store, key));
      }
      await this.logChange(tx, store, key, "delete", null, tx.next());
      return true;
    });
  }

  /** The version of `key` as the write transaction sees it (under the namespace lock), for the error. */
  private async versionIn(tx: WriteTx, store: string, key: string): Promise<bigint | undefined> {
    const { db } = this;
    const rows = await db.rows(
      tx.trx,
      `SELECT version FROM ${db.tables.config} WHERE ns_id = ? AND store = ? AND entry_key = ?`,
      [db.nsId, store, key],
    );
    return bigOrNull(rows[0]?.version) ?? undefined;
  }

  private async logChange(
    tx: WriteTx,
    store: string,
    key: string,
    kind: "put" | "delete",
    text: string | null,
    revision: bigint,
  ): Promise<void> {
    const { db } = this;
    await db.affected(
      tx.trx,
      `INSERT INTO ${db.tables.configChanges} (ns_id, revision, store, entry_key, kind, value, updated_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [db.nsId, db.v(revision), store, key, kind, text, kind === "put" ? tx.now : null, tx.now],
    );
  }

  private async pgPut(
    channel: string,
    store: string,
    key: string,
    text: string,
    ifVersion: bigint | undefined,
  ): Promise<ConfigRecord> {
    const row = await this.pgCall(this.db.tables.functions.configPut, "?, ?, ?, ?::bigint, ?, ?", [
      store,
      key,
      text,
      ifVersion === undefined ? null : ifVersion.toString(),
      channel,
      configHintTopic(store),
    ]);
    if (row.r_status === "mismatch")
      throw versionMismatch(store, key, ifVersion ?? 0n, bigOrNull(row.r_version) ?? undefined);
    if (row.r_status !== "ok") throw pgFailure(row);
    return {
      key,
      value: JSON.parse(text) as Json,
      version: big(row.r_version),
      updatedAt: new Date(ms(row.r_updated_at)),
    };
  }

  private async pgRemove(
    channel: string,
    store: string,
    key: string,
    ifVersion: bigint | undefined,
  ): Promise<boolean> {
    const row = await this.pgCall(this.db.tables.functions.configRemove, "?, ?, ?::bigint, ?, ?", [
      store,
      key,
      ifVersion === undefined ? null : ifVersion.toString(),
      channel,
      configHintTopic(store),
    ]);
    if (row.r_status === "absent") return false;
    if (row.r_status === "mismatch")
      throw versionMismatch(store, key, ifVersion ?? 0n, bigOrNull(row.r_version) ?? undefined);
    if (row.r_status !== "ok") throw pgFailure(row);
    return true;
  }

  /** Calls a configuration function with the namespace and `args` (bound as `params`); returns its one row. */
  private async pgCall(fn: string, params: string, args: readonly unknown[]): Promise<Row> {
    const { db } = this;
    const rows = await db.rows(db.knex, `SELECT * FROM ${fn}(?::integer, ${params})`, [db.nsId, ...args]);
    const row = rows[0];
    if (row === undefined) throw new RollcallError("CONNECTION", `${fn} returned no row`);
    return row;
  }

  /**
   * The entries of `store` under `prefix` and the namespace revision, in ONE statement: one snapshot, so
   * the revision is exactly the point a watch or change read continues from.
   */
  async list(store: string, prefix: string): Promise<ConfigListing> {
    const { db } = this;
    const q = db.tables;
    const where = this.prefixCondition("c.entry_key", prefix);
    const rows = await db.reading(() =>
      db.rows(
        db.knex,
        `SELECT n.revision AS head, c.entry_key, c.value, c.version, c.updated_at
        FROM ${q.namespaces} n
        LEFT JOIN ${q.config} c ON c.ns_id = n.id AND c.store = ?${where.sql}
        WHERE n.id = ?`,
        [store, ...where.bindings, db.nsId],
      ),
    );
    const first = rows[0];
    if (first === undefined) throw missingNamespace();
    const entries: ConfigRecord[] = [];
    for (const row of rows)
      if (row.entry_key !== null && row.entry_key !== undefined) entries.push(recordOf(row));
    return { entries, revision: big(first.head) };
  }

  /** The names of the stores holding at least one entry. */
  async stores(): Promise<string[]> {
    const { db } = this;
    const rows = await db.reading(() =>
      db.rows(db.knex, `SELECT DISTINCT store FROM ${db.tables.config} WHERE ns_id = ?`, [db.nsId]),
    );
    return rows.map((r) => String(r.store));
  }

  /**
   * The changes of `store` under `prefix` after `since`, in revision order, from the configuration change
   * log — one indexed statement that also returns the namespace head and the pruned mark. A cursor below
   * the pruned mark may have missed a deleted row: `resync`.
   */
  async readChanges(store: string, prefix: string, since: bigint): Promise<ConfigChangeBatch> {
    const { db } = this;
    const q = db.tables;
    const where = this.prefixCondition("c.entry_key", prefix);
    const rows = await db.reading(() =>
      db.rows(
        db.knex,
        `SELECT n.revision AS head, n.pruned, c.revision, c.kind, c.entry_key, c.value, c.updated_at
        FROM ${q.namespaces} n
        LEFT JOIN ${q.configChanges} c ON c.ns_id = n.id AND c.store = ? AND c.revision > ?${where.sql}
        WHERE n.id = ?
        ORDER BY c.revision
        LIMIT ${CHANGES_BATCH}`,
        [store, db.v(since), ...where.bindings, db.nsId],
      ),
    );
    const first = rows[0];
    if (first === undefined) throw missingNamespace();
    const pruned = big(first.pruned);
    if (since < pruned) {
      return { resync: `the change log was pruned past revision ${since} (kept from ${pruned + 1n})` };
    }
    const wentBack = revisionWentBack(since, big(first.head));
    if (wentBack !== undefined) return { resync: wentBack };
    const changes: ConfigChange[] = [];
    for (const row of rows) {
      if (row.revision === null || row.revision === undefined) continue;
      const revision = big(row.revision);
      const key = String(row.entry_key);
      if (row.kind === "delete") changes.push({ type: "delete", key, revision });
      else {
        changes.push({
          type: "put",
          entry: {
            key,
            value: parseValue(row.value),
            version: revision,
            updatedAt: new Date(ms(row.updated_at)),
          },
          revision,
        });
      }
    }
    const last = changes.at(-1)?.revision;
    const more = rows.length >= CHANGES_BATCH && last !== undefined;
    const head = more ? last : big(first.head);
    return { changes, revision: head > since ? head : since, ...(more ? { more: true } : {}) };
  }
}

function parseValue(value: unknown): Json {
  return JSON.parse(String(value)) as Json;
}

/** An entry from a `config` row. */
function recordOf(row: Row): ConfigRecord {
  return {
    key: String(row.entry_key),
    value: parseValue(row.value),
    version: big(row.version),
    updatedAt: new Date(ms(row.updated_at)),
  };
}

function missingNamespace(): RollcallError {
  return new RollcallError("CONNECTION", "the namespace row is missing: was the table dropped?");
}

function pgFailure(row: Row): RollcallError {
  if (row.r_status === "no_namespace") return missingNamespace();
  return new RollcallError("CONNECTION", `unexpected answer ${JSON.stringify(row.r_status)}`);
}
