import {
  type ChangeBatch,
  type DriverEvent,
  groupExists,
  groupNotEmpty,
  groupNotFound,
  type LeaveReason,
  type Member,
  type Metadata,
  memberExists,
  memberNotJoined,
  RollcallError,
  sessionExpired,
} from "@rollcall/core/driver";
import type { Knex } from "knex";
import { type DialectSql, dialectSql } from "./dialect.js";
import type { Dialect } from "./options.js";
import { revisionWentBack } from "./revision-went-back.js";
import { affectedOf, big, bigOrNull, memberOf, ms, type Row, rowsOf } from "./rows.js";
import type { Tables } from "./schema.js";
import { type BusyOptions, retryRead, type WriteQueue, writeQueue } from "./sqlite-busy.js";

/** Why the database refuses a write for an expired session, for the error's action. */
const PAST_DEADLINE = "(the session is past its deadline on the database)";

/** Most change-log rows one `changes()` call returns; the rest come with the next poll. */
export const CHANGES_BATCH = 1000;

/** A write transaction holding the namespace's counter row. */
export interface WriteTx {
  trx: Knex.Transaction;
  /** The database clock when the lock was taken, in ms. */
  now: number;
  /** The pruned mark of the change log. */
  pruned: bigint;
  /** Allocates the next revision (also used as a joining member's `seq`). */
  next(): bigint;
  /** Groups whose watchers must be woken after commit (PostgreSQL NOTIFY). */
  touched: Set<string>;
}

/** The result of a heartbeat statement. */
export interface HeartbeatResult {
  /** The sessions that were still alive: their deadlines moved on. */
  alive: ReadonlySet<string>;
  /** The database clock, when the dialect returned it. */
  now?: number;
  /** The earliest deadline of another session of the namespace, when the dialect returned it. */
  nextDeadline?: number | null;
}

/** A snapshot with what it says about expired sessions. */
export interface SnapshotRead {
  members: Member[];
  revision: bigint;
  /** Some listed member's session deadline has passed (it still needs reaping). */
  stale: boolean;
}

/**
 * The SQL behind the driver: every statement is parameterised (table names are validated identifiers,
 * quoted), every multi-statement change runs in one transaction that first locks the namespace's
 * counter row. That lock orders all writers of a namespace, so revisions (and `seq`) become visible
 * in the order they were assigned, and reaping, joining and leaving never interleave.
 */
export class SqlStore {
  readonly sql: DialectSql;
  private readonly q: Tables;
  /** The namespace's row id; set by {@link ensureNamespace}. */
  nsId = 0;
  /** Statements sent so far (BEGIN and COMMIT included), for measurements. */
  statements = 0;
  /** SQLite: the write queue of the connection, shared by the process's coordinators on the file. */
  private readonly writes: WriteQueue | undefined;
  /** PostgreSQL: set when joins, leaves and updates go through the functions of `pgFunctions`. */
  private readonly pg: PgRoutines | undefined;

  constructor(
    readonly knex: Knex,
    readonly dialect: Dialect,
    tables: Tables,
    /** PostgreSQL NOTIFY channel of the namespace. */
    private readonly channel: string | undefined,
  ) {
    this.sql = dialectSql(dialect);
    this.writes = dialect === "sqlite" ? writeQueue(knex) : undefined;
    this.pg = dialect === "postgresql" && channel !== undefined ? { channel } : undefined;
    const quote = this.sql.quote;
    this.q = {
      schema: quote(tables.schema),
      namespaces: quote(tables.namespaces),
      sessions: quote(tables.sessions),
      groups: quote(tables.groups),
      members: quote(tables.members),
      changes: quote(tables.changes),
      config: quote(tables.config),
      configChanges: quote(tables.configChanges),
      functions: {
        join: quote(tables.functions.join),
        leave: quote(tables.functions.leave),
        update: quote(tables.functions.update),
        reap: quote(tables.functions.reap),
        configPut: quote(tables.functions.configPut),
        configRemove: quote(tables.functions.configRemove),
      },
    };
  }

  /** The quoted table (and PostgreSQL function) names. */
  get tables(): Tables {
    return this.q;
  }

  /**
   * A bigint as a binding: a number for SQLite (knex formats bigint bindings badly in SQLite error
   * messages; revisions stay far below 2^53), a decimal string for the network drivers.
   */
  v(value: bigint): Knex.Value {
    if (this.dialect === "sqlite" && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    return value.toString();
  }

  /** Runs one statement (every statement of the store goes through here, so it can be counted). */
  private run(
    runner: Knex | Knex.Transaction,
    sql: string,
    bindings: readonly unknown[] = [],
  ): Promise<unknown> {
    this.statements++;
    return runner.raw(sql, bindings as Knex.RawBinding[]) as unknown as Promise<unknown>;
  }

  /** Runs one statement and returns its rows. */
  async rows(runner: Knex | Knex.Transaction, sql: string, bindings: readonly unknown[]): Promise<Row[]> {
    return rowsOf(this.dialect, await this.run(runner, sql, bindings));
  }

  /** Runs one write statement and returns how many rows it affected. */
  async affected(
    runner: Knex | Knex.Transaction,
    sql: string,
    bindings: readonly unknown[],
  ): Promise<number> {
    return affectedOf(this.dialect, await this.run(runner, sql, bindings));
  }

  /**
   * Runs a whole write — a transaction or one statement outside any — once. SQLite: again after a pause
   * while another process holds the file's write lock (see `sqlite-busy.ts`), never waiting
   * synchronously; a failed try left nothing behind (SQLite rolled it back).
   */
  private writing<T>(attempt: () => Promise<T>, options?: BusyOptions): Promise<T> {
    if (this.writes === undefined) {
      options?.onAttempt?.();
      return attempt();
    }
    return this.writes.run(attempt, options);
  }

  /** Runs a read outside any transaction once; SQLite: again if the file is (rarely) busy for readers. */
  reading<T>(attempt: () => Promise<T>): Promise<T> {
    return this.dialect === "sqlite" ? retryRead(attempt) : attempt();
  }

  /** Creates the namespace's counter row if needed and remembers its id. */
  async ensureNamespace(namespace: string): Promise<void> {
    const { verb, suffix } = this.sql.insertIgnore;
    await this.writing(() =>
      this.run(
        this.knex,
        `${verb} INTO ${this.q.namespaces} (name, revision, pruned) VALUES (?, 0, 0)${suffix}`,
        [namespace],
      ),
    );
    const rows = await this.reading(() =>
      this.rows(this.knex, `SELECT id FROM ${this.q.namespaces} WHERE name = ?`, [namespace]),
    );
    this.nsId = Number(rows[0]?.id);
  }

  /**
   * Runs `fn` in a write transaction that holds the namespace's counter row (see {@link WriteTx}); the
   * revisions it allocated are stored, and the groups it touched notified (PostgreSQL), before the commit.
   * A rejection rolls the whole transaction back.
   */
  async write<T>(fn: (tx: WriteTx) => Promise<T>, busy?: BusyOptions): Promise<T> {
    const { q, sql } = this;
    const lock =
      this.dialect === "sqlite"
        ? `UPDATE ${q.namespaces} SET revision = revision WHERE id = ? RETURNING revision, pruned, ${sql.nowMs} AS now_ms`
        : `SELECT revision, pruned, ${sql.nowMs} AS now_ms FROM ${q.namespaces} WHERE id = ?${sql.forUpdate}`;
    return this.writing(() => {
      // BEGIN and COMMIT are statements too.
      this.statements += 2;
      return this.transaction(lock, fn);
    }, busy);
  }

  private transaction<T>(lock: string, fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    const { q } = this;
    return this.knex.transaction(async (trx) => {
      const head = (await this.rows(trx, lock, [this.nsId]))[0];
      if (head === undefined)
        throw new RollcallError("CONNECTION", "the namespace row is missing: was the table dropped?");
      const base = big(head.revision);
      let revision = base;
      const tx: WriteTx = {
        trx,
        now: ms(head.now_ms),
        pruned: big(head.pruned),
        next: () => ++revision,
        touched: new Set(),
      };
      const result = await fn(tx);
      if (revision !== base) {
        await this.run(trx, `UPDATE ${q.namespaces} SET revision = ? WHERE id = ?`, [
          this.v(revision),
          this.nsId,
        ]);
      }
      if (this.channel !== undefined) {
        // NOTIFY is transactional: listeners hear it only once the change log rows are committed.
        for (const group of tx.touched) await this.run(trx, "SELECT pg_notify(?, ?)", [this.channel, group]);
      }
      return result;
    });
  }

  private async logChanges(tx: WriteTx, rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    for (let i = 0; i < rows.length; i += 200) {
      await this.run(
        tx.trx,
        `INSERT INTO ${this.q.changes} (ns_id, revision, group_name, kind, member_id, reason, metadata, seq, joined_at, updated_at, created_at) VALUES ${rows
          .slice(i, i + 200)
          .map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .join(", ")}`,
        rows
          .slice(i, i + 200)
          .flatMap((r) => [
            this.nsId,
            r.revision,
            r.group_name,
            r.kind,
            r.member_id,
            r.reason ?? null,
            r.metadata ?? null,
            r.seq ?? null,
            r.joined_at ?? null,
            r.updated_at ?? null,
            tx.now,
          ]) as Knex.RawBinding[],
      );
    }
  }

  private placeholders(n: number): string {
    return Array.from({ length: n }, () => "?").join(", ");
  }

  /**
   * Removes every session of the namespace whose deadline has passed (and the sessions in `force`,
   * whatever their deadline), their members with a `leave` `expired` each in the change log.
   * Inside the namespace lock, so exactly one reaper writes each leave.
   */
  private async reapTx(tx: WriteTx, force: readonly string[]): Promise<number> {
    const { q, sql } = this;
    const forceSql = force.length === 0 ? "" : ` OR id IN (${this.placeholders(force.length)})`;
    const where = `ns_id = ? AND (deadline <= ${sql.nowMs}${forceSql})`;
    let sessionIds: string[];
    if (sql.returning) {
      sessionIds = (
        await this.rows(tx.trx, `DELETE FROM ${q.sessions} WHERE ${where} RETURNING id`, [
          this.nsId,
          ...force,
        ])
      ).map((r) => String(r.id));
    } else {
      sessionIds = (
        await this.rows(tx.trx, `SELECT id FROM ${q.sessions} WHERE ${where}${sql.forUpdate}`, [
          this.nsId,
          ...force,
        ])
      ).map((r) => String(r.id));
      if (sessionIds.length > 0) {
        await this.run(
          tx.trx,
          `DELETE FROM ${q.sessions} WHERE id IN (${this.placeholders(sessionIds.length)})`,
          sessionIds,
        );
      }
    }
    const owners = [...new Set([...sessionIds, ...force])];
    if (owners.length === 0) return 0;
    const removed = await this.removeMembersOf(tx, owners);
    await this.logLeaves(tx, removed, "expired");
    return removed.length;
  }

  private async removeMembersOf(tx: WriteTx, sessionIds: readonly string[]): Promise<Row[]> {
    const { q, sql } = this;
    const where = `ns_id = ? AND session_id IN (${this.placeholders(sessionIds.length)})`;
    if (sql.returning) {
      return this.rows(
        tx.trx,
        `DELETE FROM ${q.members} WHERE ${where} RETURNING group_name, member_id, seq`,
        [this.nsId, ...sessionIds],
      );
    }
    const rows = await this.rows(
      tx.trx,
      `SELECT group_name, member_id, seq FROM ${q.members} WHERE ${where}${sql.forUpdate}`,
      [this.nsId, ...sessionIds],
    );
    if (rows.length > 0)
      await this.run(tx.trx, `DELETE FROM ${q.members} WHERE ${where}`, [this.nsId, ...sessionIds]);
    return rows;
  }

  private async logLeaves(tx: WriteTx, removed: Row[], reason: LeaveReason): Promise<void> {
    const ordered = [...removed].sort((a, b) => {
      const x = big(a.seq);
      const y = big(b.seq);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    await this.logChanges(
      tx,
      ordered.map((r) => {
        tx.touched.add(String(r.group_name));
        return {
          revision: this.v(tx.next()),
          group_name: r.group_name,
          kind: "leave",
          member_id: r.member_id,
          reason,
        };
      }),
    );
  }

  /**
   * Opens a session row whose deadline is `timeout` ms past the database clock. A previous session of
   * the same driver (declared expired locally) is removed first, its members leaving as `expired`.
   */
  async openSession(
    id: string,
    memberId: string,
    timeout: number,
    previous: string | undefined,
    busy?: BusyOptions,
  ): Promise<void> {
    if (previous !== undefined) await this.reapSessions([previous], busy);
    const now = this.sql.nowMs;
    await this.writing(
      () =>
        this.run(
          this.knex,
          `INSERT INTO ${this.q.sessions} (id, ns_id, member_id, deadline, created_at) VALUES (?, ?, ?, ${now} + ?, ${now})`,
          [id, this.nsId, memberId, timeout],
        ),
      busy,
    );
  }

  /**
   * One heartbeat statement for several sessions of this namespace (a process's coordinators on one
   * database, see `heartbeat-batch.ts`): moves each deadline to `timeout` ms past the database clock, only
   * while it has not passed, and says which sessions were still alive. PostgreSQL and SQLite also return
   * the earliest deadline of the namespace's other sessions, so the caller knows when someone is due for
   * reaping; MySQL (no `RETURNING`) reads the survivors back only when some session was not renewed, and
   * the earliest deadline with a second statement only when `nextDeadline` asks for it.
   *
   * `busy` (SQLite): how long to keep trying while another process holds the write lock; its
   * `onAttempt` runs right before the statement is sent (each time, on SQLite), so the caller knows
   * when the statement that committed left.
   */
  async heartbeat(
    ids: readonly string[],
    timeout: number,
    busy?: BusyOptions,
    nextDeadline = false,
  ): Promise<HeartbeatResult> {
    const { q, sql } = this;
    const list = ids.map(() => "?").join(", ");
    const update = `UPDATE ${q.sessions} SET deadline = ${sql.nowMs} + ? WHERE id IN (${list}) AND deadline > ${sql.nowMs}`;
    if (!sql.returning) {
      const renewed = await this.writing(() => this.affected(this.knex, update, [timeout, ...ids]), busy);
      const result: HeartbeatResult = { alive: new Set(ids) };
      if (renewed < ids.length) {
        const rows = await this.rows(
          this.knex,
          `SELECT id FROM ${q.sessions} WHERE id IN (${list}) AND deadline > ${sql.nowMs}`,
          ids,
        );
        result.alive = new Set(rows.map((row) => String(row.id)));
      }
      if (nextDeadline) Object.assign(result, await this.nextDeadline(ids));
      return result;
    }
    const rows = await this.writing(
      () =>
        this.rows(
          this.knex,
          `${update} RETURNING id, ${sql.nowMs} AS now_ms, (SELECT MIN(o.deadline) FROM ${q.sessions} o WHERE o.ns_id = ? AND o.id NOT IN (${list})) AS next_deadline`,
          [timeout, ...ids, this.nsId, ...ids],
        ),
      busy,
    );
    const row = rows[0];
    if (row === undefined) return { alive: new Set() };
    const next = bigOrNull(row.next_deadline);
    return {
      alive: new Set(rows.map((r) => String(r.id))),
      now: ms(row.now_ms),
      nextDeadline: next === null ? null : Number(next),
    };
  }

  /**
   * The database clock and the earliest deadline of the namespace's sessions other than `exclude` (null
   * when there is none): one read of the `(ns_id, deadline)` index.
   */
  async nextDeadline(exclude: readonly string[]): Promise<{ now: number; nextDeadline: number | null }> {
    const { q, sql } = this;
    const others = exclude.length === 0 ? "" : ` AND id NOT IN (${exclude.map(() => "?").join(", ")})`;
    const rows = await this.reading(() =>
      this.rows(
        this.knex,
        `SELECT ${sql.nowMs} AS now_ms, MIN(deadline) AS next_deadline FROM ${q.sessions} WHERE ns_id = ?${others}`,
        [this.nsId, ...exclude],
      ),
    );
    const next = bigOrNull(rows[0]?.next_deadline);
    return { now: ms(rows[0]?.now_ms), nextDeadline: next === null ? null : Number(next) };
  }

  /** Ends a session gracefully: its members leave (`left`) and its row goes, in one transaction. */
  async endSession(id: string, busy?: BusyOptions): Promise<void> {
    await this.write(async (tx) => {
      const removed = await this.removeMembersOf(tx, [id]);
      await this.logLeaves(tx, removed, "left");
      await this.run(tx.trx, `DELETE FROM ${this.q.sessions} WHERE id = ?`, [id]);
    }, busy);
  }

  /**
   * Whether incarnation `seq` (any, without it) of `memberId` is still in `group`: `present`, `gone`
   * (no row, or another incarnation), or `expired` (its session is past its deadline and waits to be
   * reaped). One indexed read, no lock.
   */
  async memberState(group: string, memberId: string, seq?: bigint): Promise<"present" | "gone" | "expired"> {
    const { q, sql } = this;
    const rows = await this.reading(() =>
      this.rows(
        this.knex,
        `SELECT m.seq, s.deadline, ${sql.nowMs} AS now_ms FROM ${q.members} m LEFT JOIN ${q.sessions} s ON s.id = m.session_id
        WHERE m.ns_id = ? AND m.group_name = ? AND m.member_id = ?`,
        [this.nsId, group, memberId],
      ),
    );
    const row = rows[0];
    if (row === undefined || (seq !== undefined && big(row.seq) !== seq)) return "gone";
    const deadline = bigOrNull(row.deadline);
    return deadline === null || Number(deadline) <= ms(row.now_ms) ? "expired" : "present";
  }

  /** Reaps expired sessions; returns how many members left. */
  async reap(): Promise<number> {
    return this.reapSessions([]);
  }

  /**
   * Reaps expired sessions and those in `force` (whatever their deadline) in one transaction; PostgreSQL
   * in one call of its reap function.
   */
  private async reapSessions(force: readonly string[], busy?: BusyOptions): Promise<number> {
    if (this.pg === undefined) return this.write((tx) => this.reapTx(tx, force), busy);
    // The ids as JSON: knex would spread an array binding into a list of parameters.
    const rows = await this.rows(
      this.knex,
      `SELECT ${this.q.functions.reap}(?, ARRAY(SELECT json_array_elements_text(?::json)), ?) AS n`,
      [this.nsId, JSON.stringify(force), this.pg.channel],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Deletes change-log rows — membership and configuration alike, one log numbered by one counter — older
   * than `retention` ms and raises the pruned mark.
   */
  async prune(retention: number): Promise<number> {
    const { q } = this;
    return this.write(async (tx) => {
      const rows = await this.rows(
        tx.trx,
        `SELECT (SELECT MAX(revision) FROM ${q.changes} WHERE ns_id = ? AND created_at < ?) AS r,
          (SELECT MAX(revision) FROM ${q.configChanges} WHERE ns_id = ? AND created_at < ?) AS c`,
        [this.nsId, tx.now - retention, this.nsId, tx.now - retention],
      );
      const members = bigOrNull(rows[0]?.r);
      const config = bigOrNull(rows[0]?.c);
      const upTo = members === null ? config : config === null || members > config ? members : config;
      if (upTo === null || upTo <= tx.pruned) return 0;
      let deleted = 0;
      for (const table of [q.changes, q.configChanges]) {
        deleted += await this.affected(tx.trx, `DELETE FROM ${table} WHERE ns_id = ? AND revision <= ?`, [
          this.nsId,
          this.v(upTo),
        ]);
      }
      await this.run(tx.trx, `UPDATE ${q.namespaces} SET pruned = ? WHERE id = ?`, [this.v(upTo), this.nsId]);
      return deleted;
    });
  }

  /**
   * Creates a group. Inside the namespace lock like every other change, so concurrent creators and the
   * joins that follow them are answered in the order they arrived.
   */
  async createGroup(group: string): Promise<void> {
    await this.write(async (tx) => {
      const { verb, suffix } = this.sql.insertIgnore;
      const inserted = await this.affected(
        tx.trx,
        `${verb} INTO ${this.q.groups} (ns_id, name, created_at) VALUES (?, ?, ?)${suffix}`,
        [this.nsId, group, tx.now],
      );
      if (inserted === 0) throw groupExists(group);
    });
  }

  async deleteGroup(group: string): Promise<void> {
    await this.write(async (tx) => {
      const { q } = this;
      const row = (
        await this.rows(
          tx.trx,
          `SELECT (SELECT COUNT(*) FROM ${q.groups} WHERE ns_id = ? AND name = ?) AS group_count,
            (SELECT COUNT(*) FROM ${q.members} m JOIN ${q.sessions} s ON s.id = m.session_id
              WHERE m.ns_id = ? AND m.group_name = ? AND s.deadline > ?) AS alive,
            (SELECT COUNT(*) FROM ${q.members} WHERE ns_id = ? AND group_name = ?) AS total`,
          [this.nsId, group, this.nsId, group, tx.now, this.nsId, group],
        )
      )[0];
      if (Number(row?.group_count ?? 0) === 0) throw groupNotFound(group);
      if (Number(row?.alive ?? 0) > 0) throw groupNotEmpty(group);
      if (Number(row?.total ?? 0) > 0) await this.reapTx(tx, []);
      await this.run(tx.trx, `DELETE FROM ${q.groups} WHERE ns_id = ? AND name = ?`, [this.nsId, group]);
      tx.touched.add(group);
    });
  }

  async listGroups(): Promise<string[]> {
    const rows = await this.reading(() =>
      this.rows(this.knex, `SELECT name FROM ${this.q.groups} WHERE ns_id = ? ORDER BY name`, [this.nsId]),
    );
    return rows.map((r) => String(r.name));
  }

  /**
   * Joins in one transaction; `seq` is the revision allocated under the namespace lock. A member this
   * session already holds (a retry of a join whose answer was lost) is returned with its original
   * `seq`, its metadata set as {@link update} would; one held by another live session is `MEMBER_EXISTS`.
   */
  async join(sessionId: string, group: string, memberId: string, metadata: Metadata): Promise<Member> {
    if (this.pg !== undefined) return this.pgJoin(this.pg, sessionId, group, memberId, metadata);
    return this.write(async (tx) => {
      const { q } = this;
      const row =
        (
          await this.rows(
            tx.trx,
            `SELECT (SELECT deadline FROM ${q.sessions} WHERE id = ?) AS my_deadline,
            (SELECT COUNT(*) FROM ${q.groups} WHERE ns_id = ? AND name = ?) AS group_count,
            (SELECT session_id FROM ${q.members} WHERE ns_id = ? AND group_name = ? AND member_id = ?) AS owner_session,
            (SELECT s.deadline FROM ${q.members} m JOIN ${q.sessions} s ON s.id = m.session_id
              WHERE m.ns_id = ? AND m.group_name = ? AND m.member_id = ?) AS owner_deadline`,
            [sessionId, this.nsId, group, this.nsId, group, memberId, this.nsId, group, memberId],
          )
        )[0] ?? {};
      const mine = bigOrNull(row.my_deadline);
      if (mine === null || Number(mine) <= tx.now) {
        throw sessionExpired(this.dialect, `join ${PAST_DEADLINE}`, { group, memberId });
      }
      if (Number(row.group_count ?? 0) === 0) throw groupNotFound(group);
      if (row.owner_session !== null && row.owner_session !== undefined) {
        if (String(row.owner_session) === sessionId) return this.rejoinTx(tx, group, memberId, metadata);
        const ownerDeadline = bigOrNull(row.owner_deadline);
        if (ownerDeadline !== null && Number(ownerDeadline) > tx.now) {
          throw memberExists(group, memberId);
        }
        // The holder's session is past its deadline (or gone): reap it first, so its leave precedes this join.
        await this.reapTx(tx, [String(row.owner_session)]);
      }
      const seq = tx.next();
      const text = JSON.stringify(metadata);
      await this.run(
        tx.trx,
        `INSERT INTO ${q.members} (ns_id, group_name, member_id, session_id, metadata, seq, joined_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [this.nsId, group, memberId, sessionId, text, this.v(seq), tx.now, tx.now],
      );
      await this.logChanges(tx, [
        {
          revision: this.v(seq),
          group_name: group,
          kind: "join",
          member_id: memberId,
          metadata: text,
          seq: this.v(seq),
          joined_at: tx.now,
          updated_at: tx.now,
        },
      ]);
      tx.touched.add(group);
      return {
        id: memberId,
        group,
        metadata: JSON.parse(text) as Metadata,
        seq,
        joinedAt: new Date(tx.now),
        updatedAt: new Date(tx.now),
      };
    });
  }

  async leave(sessionId: string, group: string, memberId: string): Promise<void> {
    if (this.pg !== undefined) {
      const row = await this.pgCall(this.q.functions.leave, [sessionId, group, memberId, this.pg.channel]);
      if (row.r_status !== "ok") throw this.pgFailure(row, "leave", group, memberId);
      return;
    }
    await this.write(async (tx) => {
      const deleted = await this.affected(
        tx.trx,
        `DELETE FROM ${this.q.members} WHERE ns_id = ? AND group_name = ? AND member_id = ? AND session_id = ?`,
        [this.nsId, group, memberId, sessionId],
      );
      if (deleted === 0) throw memberNotJoined(group, memberId);
      await this.logChanges(tx, [
        {
          revision: this.v(tx.next()),
          group_name: group,
          kind: "leave",
          member_id: memberId,
          reason: "left",
        },
      ]);
      tx.touched.add(group);
    });
  }

  async update(sessionId: string, group: string, memberId: string, metadata: Metadata): Promise<Member> {
    if (this.pg !== undefined) {
      const text = JSON.stringify(metadata);
      const row = await this.pgCall(this.q.functions.update, [
        sessionId,
        group,
        memberId,
        text,
        this.pg.channel,
      ]);
      if (row.r_status !== "ok") throw this.pgFailure(row, "update", group, memberId);
      return pgMember(group, memberId, text, row);
    }
    return this.write(async (tx) => {
      const { q } = this;
      const row = (
        await this.rows(
          tx.trx,
          `SELECT m.seq, m.joined_at, s.deadline FROM ${q.members} m LEFT JOIN ${q.sessions} s ON s.id = m.session_id
            WHERE m.ns_id = ? AND m.group_name = ? AND m.member_id = ? AND m.session_id = ?`,
          [this.nsId, group, memberId, sessionId],
        )
      )[0];
      if (row === undefined) throw memberNotJoined(group, memberId);
      const deadline = bigOrNull(row.deadline);
      if (deadline === null || Number(deadline) <= tx.now) {
        throw sessionExpired(this.dialect, `update ${PAST_DEADLINE}`, { group, memberId });
      }
      return this.updateTx(tx, group, memberId, big(row.seq), ms(row.joined_at), JSON.stringify(metadata));
    });
  }

  /**
   * PostgreSQL's join: one call of the join function (see `pgFunctions` in schema.ts). A member whose
   * holder's session is past its deadline is reaped first (its leave precedes this join) and the join
   * tried again.
   */
  private async pgJoin(
    pg: PgRoutines,
    sessionId: string,
    group: string,
    memberId: string,
    metadata: Metadata,
  ): Promise<Member> {
    const text = JSON.stringify(metadata);
    for (let attempt = 1; ; attempt++) {
      const row = await this.pgCall(this.q.functions.join, [sessionId, group, memberId, text, pg.channel]);
      if (row.r_status === "ok") return pgMember(group, memberId, text, row);
      if (row.r_status !== "owner_expired" || attempt >= 3)
        throw this.pgFailure(row, "join", group, memberId);
      const owner = String(row.r_owner);
      await this.reapSessions([owner]);
    }
  }

  /** Calls one of the PostgreSQL functions with the namespace and `args`; returns its one row. */
  private async pgCall(fn: string, args: readonly unknown[]): Promise<Row> {
    const rows = await this.rows(this.knex, `SELECT * FROM ${fn}(?, ${this.placeholders(args.length)})`, [
      this.nsId,
      ...args,
    ]);
    const row = rows[0];
    if (row === undefined) throw new RollcallError("CONNECTION", `${fn} returned no row`);
    return row;
  }

  /** The error a PostgreSQL function's `r_status` stands for. */
  private pgFailure(row: Row, action: string, group: string, memberId: string): RollcallError {
    switch (row.r_status) {
      case "session_gone":
        return sessionExpired(this.dialect, `${action} ${PAST_DEADLINE}`, { group, memberId });
      case "group_not_found":
        return groupNotFound(group);
      case "member_exists":
      case "owner_expired":
        return memberExists(group, memberId);
      case "not_joined":
        return memberNotJoined(group, memberId);
      case "no_namespace":
        return new RollcallError("CONNECTION", "the namespace row is missing: was the table dropped?");
      default:
        return new RollcallError("CONNECTION", `unexpected answer ${JSON.stringify(row.r_status)}`);
    }
  }

  /**
   * The join of a member the session already holds: the record as it stands when the metadata is the
   * same, else updated (with an `update` in the change log). The caller checked the session is alive.
   */
  private async rejoinTx(tx: WriteTx, group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const row = (
      await this.rows(
        tx.trx,
        `SELECT member_id, metadata, seq, joined_at, updated_at FROM ${this.q.members} WHERE ns_id = ? AND group_name = ? AND member_id = ?`,
        [this.nsId, group, memberId],
      )
    )[0];
    if (row === undefined)
      throw new RollcallError("CONNECTION", "the member row vanished inside its transaction");
    const current = memberOf(group, row);
    const text = JSON.stringify(metadata);
    if (JSON.stringify(current.metadata) === text) return current;
    return this.updateTx(tx, group, memberId, current.seq, current.joinedAt.getTime(), text);
  }

  /** Writes a member's new metadata (`text`, JSON) and logs the update. */
  private async updateTx(
    tx: WriteTx,
    group: string,
    memberId: string,
    seq: bigint,
    joinedAt: number,
    text: string,
  ): Promise<Member> {
    const { q } = this;
    await this.run(
      tx.trx,
      `UPDATE ${q.members} SET metadata = ?, updated_at = ? WHERE ns_id = ? AND group_name = ? AND member_id = ?`,
      [text, tx.now, this.nsId, group, memberId],
    );
    await this.logChanges(tx, [
      {
        revision: this.v(tx.next()),
        group_name: group,
        kind: "update",
        member_id: memberId,
        metadata: text,
        seq: this.v(seq),
        joined_at: joinedAt,
        updated_at: tx.now,
      },
    ]);
    tx.touched.add(group);
    return {
      id: memberId,
      group,
      metadata: JSON.parse(text) as Metadata,
      seq,
      joinedAt: new Date(joinedAt),
      updatedAt: new Date(tx.now),
    };
  }

  /** The namespace's revision counter: it moves with every change to any group or configuration. */
  async headRevision(): Promise<bigint> {
    const rows = await this.rows(
      this.knex,
      `SELECT n.revision AS head FROM ${this.q.namespaces} n WHERE n.id = ?`,
      [this.nsId],
    );
    return big(rows[0]?.head ?? 0);
  }

  /**
   * The group's members and the namespace revision, read in one statement (one snapshot), with
   * whether any of them is past its session deadline and still waiting to be reaped.
   */
  async readMembers(group: string): Promise<SnapshotRead> {
    const { q, sql } = this;
    const rows = await this.reading(() =>
      this.rows(
        this.knex,
        `SELECT n.revision AS head, ${sql.nowMs} AS now_ms, g.name AS g, m.member_id, m.metadata, m.seq, m.joined_at, m.updated_at, s.deadline
        FROM ${q.namespaces} n
        LEFT JOIN ${q.groups} g ON g.ns_id = n.id AND g.name = ?
        LEFT JOIN ${q.members} m ON m.ns_id = n.id AND m.group_name = g.name
        LEFT JOIN ${q.sessions} s ON s.id = m.session_id
        WHERE n.id = ?`,
        [group, this.nsId],
      ),
    );
    const first = rows[0];
    if (first === undefined || first.g === null || first.g === undefined) {
      throw groupNotFound(group);
    }
    const now = ms(first.now_ms);
    let stale = false;
    const members: Member[] = [];
    for (const row of rows) {
      if (row.member_id === null || row.member_id === undefined) continue;
      const deadline = bigOrNull(row.deadline);
      if (deadline === null || Number(deadline) <= now) stale = true;
      members.push(memberOf(group, row));
    }
    return { members, revision: big(first.head), stale };
  }

  /**
   * The group's changes after `since`, in order, from the change log — one indexed statement that
   * also returns the namespace head, the pruned mark and the earliest session deadline.
   */
  async readChanges(group: string, since: bigint): Promise<ChangeBatch & { stale: boolean; more?: boolean }> {
    const { q, sql } = this;
    const rows = await this.reading(() =>
      this.rows(
        this.knex,
        `SELECT n.revision AS head, n.pruned, ${sql.nowMs} AS now_ms,
          (SELECT MIN(s.deadline) FROM ${q.sessions} s WHERE s.ns_id = n.id) AS min_deadline,
          c.revision, c.kind, c.member_id, c.reason, c.metadata, c.seq, c.joined_at, c.updated_at
        FROM ${q.namespaces} n
        LEFT JOIN ${q.changes} c ON c.ns_id = n.id AND c.group_name = ? AND c.revision > ?
        WHERE n.id = ?
        ORDER BY c.revision
        LIMIT ${CHANGES_BATCH}`,
        [group, this.v(since), this.nsId],
      ),
    );
    const first = rows[0];
    if (first === undefined)
      throw new RollcallError("CONNECTION", "the namespace row is missing: was the table dropped?");
    const minDeadline = bigOrNull(first.min_deadline);
    const stale = minDeadline !== null && Number(minDeadline) <= ms(first.now_ms);
    if (since < big(first.pruned)) {
      return {
        resync: `the change log was pruned past revision ${since} (kept from ${big(first.pruned) + 1n})`,
        stale,
      };
    }
    const wentBack = revisionWentBack(since, big(first.head));
    if (wentBack !== undefined) return { resync: wentBack, stale };
    const events: DriverEvent[] = [];
    for (const row of rows) {
      if (row.revision === null || row.revision === undefined) continue;
      const revision = big(row.revision);
      if (row.kind === "leave") {
        const reason = row.reason === "left" || row.reason === "expired" ? row.reason : "unknown";
        events.push({ type: "leave", memberId: String(row.member_id), reason, revision });
      } else {
        events.push({
          type: row.kind === "join" ? "join" : "update",
          member: memberOf(group, row),
          revision,
        });
      }
    }
    const last = events.at(-1)?.revision;
    const more = rows.length >= CHANGES_BATCH && last !== undefined;
    const revision = more ? last : big(first.head);
    return { events, revision: revision > since ? revision : since, stale, more };
  }
}

/** PostgreSQL: the NOTIFY channel the write functions notify on. */
interface PgRoutines {
  channel: string;
}

/** The member a PostgreSQL join or update function answered for. */
function pgMember(group: string, memberId: string, metadata: string, row: Row): Member {
  return {
    id: memberId,
    group,
    metadata: JSON.parse(metadata) as Metadata,
    seq: big(row.r_seq),
    joinedAt: new Date(ms(row.r_joined_at)),
    updatedAt: new Date(ms(row.r_updated_at)),
  };
}
