import { createHash, randomUUID } from "node:crypto";
import {
  backoff,
  bounded,
  type ChangeBatch,
  type Characteristics,
  type ConfigDriver,
  type Driver,
  type DriverConfig,
  driverClosed,
  type GroupSnapshot,
  type Member,
  type Metadata,
  noSession,
  openFailure,
  type Renewal,
  RollcallError,
  readPemFile,
  type SessionListener,
  TtlSession,
} from "@rollcall/core/driver";
import type { Knex } from "knex";
import type pg from "pg";
import { SqlConfigStore } from "./config-store.js";
import { describeTarget, knexConfig, sqliteFilename } from "./dialect.js";
import { HeartbeatBatch } from "./heartbeat-batch.js";
import { acquireKnex } from "./knex-pool.js";
import { type Dialect, readSqlOptions, type SqlOptions } from "./options.js";
import { PgHints } from "./pg-hints.js";
import { RevisionProbe } from "./revision-probe.js";
import { migrate, tableNames } from "./schema.js";
import { SqlConfig, type SqlConfigLink } from "./sql-config.js";
import { SqlStore } from "./sql-store.js";
import { SqliteChangeHints } from "./sqlite-hints.js";
import { waitFor } from "./wait-for.js";

/** How often MySQL/MariaDB watchers probe the namespace's revision while a feed listens (ms). */
const PROBE_INTERVAL = 25;

const CHARACTERISTICS: Record<Dialect, Characteristics> = {
  postgresql: {
    scope: "cluster",
    liveness: "ttl",
    watch: "push",
    leaveReason: true,
    consistency: "linearizable",
    config: "durable",
  },
  mysql: {
    scope: "cluster",
    liveness: "ttl",
    watch: "poll",
    leaveReason: true,
    consistency: "linearizable",
    config: "durable",
  },
  sqlite: {
    scope: "host",
    liveness: "ttl",
    watch: "poll",
    leaveReason: true,
    consistency: "linearizable",
    config: "durable",
  },
};

/**
 * The SQL driver (`postgresql://`, `mysql://`/`mariadb://`, `sqlite://`): a session is a row whose
 * deadline the database computes from its own clock and one heartbeat statement per interval moves
 * on; members are rows bound to the session; every change is appended, in one transaction with it, to
 * an ordered change log numbered by a counter row, which also yields `seq`. PostgreSQL pushes
 * change-log wake-ups with LISTEN/NOTIFY; MySQL and SQLite are polled through {@link changes}.
 * Expired sessions are reaped atomically by whichever live coordinator notices first.
 */
export class SqlDriver implements Driver {
  readonly characteristics: Characteristics;
  readonly options: SqlOptions;
  private readonly target: string;
  private readonly channel: string | undefined;
  private knex: Knex | undefined;
  private releaseKnex: (() => Promise<void>) | undefined;
  private prepared: Promise<SqlStore> | undefined;
  private store: SqlStore | undefined;
  /**
   * The last session opened: its id (the sessions row) and its keeper (core's {@link TtlSession}, renewing
   * it by heartbeat). Kept once its keeper stops, so that the next open removes it first.
   */
  private session: { id: string; keeper: TtlSession } | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private reaping: Promise<void> | undefined;
  /** PostgreSQL only: the NOTIFY hints feeds follow the change log on, and `awaitGone` waits on. */
  private readonly pgHints: PgHints | undefined;
  /**
   * PostgreSQL only: resolves once incarnation `seq` of `memberId` is no longer in `group` (see
   * {@link Driver.awaitGone}), woken by the group's NOTIFY. Elections and locks then wait on their
   * predecessor alone, with core's periodic re-check, instead of following the whole group's feed.
   */
  readonly awaitGone?: (group: string, memberId: string, signal: AbortSignal, seq?: bigint) => Promise<void>;
  /**
   * The configuration store (`coord.config(name)`): entries in their own table, bound to no session,
   * versioned by the namespace's change-log revision, read through `changes()` (woken by NOTIFY on
   * PostgreSQL, hinted or polled on MySQL and SQLite). Needs the database, not a live session.
   */
  readonly configStore: ConfigDriver;
  private configSql: SqlConfigStore | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** SQLite: a file notification for every write by any process on the host (see `changeHints`). */
  private readonly sqliteHints: SqliteChangeHints | undefined;
  /**
   * MySQL/MariaDB: this driver's subscriptions to the process's probe of the namespace's revision (see
   * `changeHints`), ended on close.
   */
  private readonly probes = new Set<() => void>();
  /**
   * Change hints (see `Driver.changeHints`): PostgreSQL's NOTIFY (pushed: feeds read on hints alone),
   * SQLite's file notifications and MySQL's revision probe (feeds also poll).
   */
  readonly changeHints?: (listener: (topic?: string) => void) => () => void;

  constructor(
    readonly dialect: Dialect,
    private readonly config: DriverConfig,
  ) {
    this.options = readSqlOptions(dialect, config);
    this.characteristics = CHARACTERISTICS[dialect];
    this.target = describeTarget(dialect, config.url);
    if (dialect === "postgresql") {
      const digest = createHash("sha256")
        .update(`${this.options.tablePrefix}\0${config.namespace}`)
        .digest("hex");
      this.channel = `rollcall_${digest.slice(0, 40)}`;
      const hints = new PgHints(
        () => this.getKnex().client.config.connection as pg.ClientConfig,
        this.channel,
        // A quiet feed reads (and moves its cursor on) well within the change log's retention.
        Math.max(1000, this.options.changeRetention / 4),
        config.logger,
      );
      this.pgHints = hints;
      this.changeHints = (listener) => hints.subscribe(listener);
      this.awaitGone = (group, memberId, signal, seq) => this.awaitMemberGone(group, memberId, signal, seq);
    }
    if (dialect === "sqlite") {
      const hints = new SqliteChangeHints(() => sqliteFilename(config.url), config.logger);
      this.sqliteHints = hints;
      this.changeHints = (listener) => hints.subscribe(listener);
    }
    if (dialect === "mysql") {
      this.changeHints = (listener) => {
        // Feeds listen once the session is open, so the store is there; before, polling alone serves.
        const store = this.store;
        if (store === undefined || this.closed) return () => {};
        const unsubscribe = RevisionProbe.of(store, PROBE_INTERVAL, config.logger).subscribe(listener);
        this.probes.add(unsubscribe);
        return () => {
          if (this.probes.delete(unsubscribe)) unsubscribe();
        };
      };
    }
    const link: SqlConfigLink = {
      store: () => this.configStatements(),
      error: (error) => this.connectionError(error),
    };
    this.configStore = new SqlConfig(link);
  }

  /** The configuration statements, once the database is prepared; no session needed. */
  private async configStatements(): Promise<SqlConfigStore> {
    if (this.closed) throw driverClosed(this.dialect);
    const store = await this.prepare();
    if (this.configSql === undefined) this.configSql = new SqlConfigStore(store, this.channel);
    return this.configSql;
  }

  get sessionTimeout(): number {
    return this.options.sessionTimeout;
  }

  /** SQL statements this driver has sent (BEGIN/COMMIT included; schema set-up excluded). */
  get statements(): number {
    return this.store?.statements ?? 0;
  }

  /** The heartbeat period in ms (one statement per period per coordinator). */
  get heartbeatInterval(): number {
    return this.options.heartbeatInterval;
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private connectionError(error: unknown): RollcallError {
    if (RollcallError.isInstance(error)) return error;
    return new RollcallError("CONNECTION", `${this.target}: ${this.scrub(error)}`, { cause: error });
  }

  /** An error's message (or code, if it has no message), the URL's password masked. */
  private scrub(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    if (text === "" && typeof code === "string") text = code;
    const password = this.config.url.password;
    if (password) text = text.split(password).join("***");
    return text;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.connectionError(error);
    }
  }

  /** The `ca=` file's certificates, read (asynchronously) before the pool is created. */
  private ca: string | undefined;

  private getKnex(): Knex {
    if (this.knex === undefined) {
      const logger = this.config.logger;
      const sqliteFile = this.dialect === "sqlite" ? sqliteFilename(this.config.url) : undefined;
      const { knex, release } = acquireKnex(
        {
          ...knexConfig(this.dialect, this.config.url, {
            poolSize: this.options.poolSize,
            ssl: this.options.ssl,
            ...(this.ca === undefined ? {} : { ca: this.ca }),
            connectTimeout: Math.max(1000, Math.min(this.options.sessionTimeout, 10_000)),
          }),
          log: {
            warn: (message: string) => logger.debug("knex", { message: String(message) }),
            error: (message: string) => logger.debug("knex", { message: String(message) }),
            deprecate: () => {},
            debug: () => {},
          },
        },
        sqliteFile,
      );
      this.knex = knex;
      this.releaseKnex = release;
    }
    return this.knex;
  }

  /** Creates the pool, brings the schema up to date and finds the namespace row, once. */
  private prepare(): Promise<SqlStore> {
    if (this.prepared === undefined) {
      this.prepared = (async () => {
        const caFile = this.options.caFile;
        if (caFile !== undefined && this.ca === undefined)
          this.ca = (await readPemFile("ca", caFile, this.config.url)).toString("utf8");
        const knex = this.getKnex();
        const tables = tableNames(this.options.tablePrefix);
        const store = new SqlStore(knex, this.dialect, tables, this.channel);
        await migrate(knex, this.dialect, tables);
        await store.ensureNamespace(this.config.namespace);
        this.store = store;
        return store;
      })();
      this.prepared.catch(() => {
        this.prepared = undefined;
      });
    }
    return this.prepared;
  }

  private requireSession(): { store: SqlStore; session: { id: string; keeper: TtlSession } } {
    const session = this.session;
    if (this.closed) throw driverClosed(this.dialect);
    if (this.store === undefined || session === undefined) {
      throw noSession(this.dialect, `${this.target}: not opened yet`);
    }
    if (!session.keeper.live) {
      throw noSession(this.dialect, `${this.target}: expired and not yet re-opened`);
    }
    return { store: this.store, session };
  }

  // ---- sessions ----------------------------------------------------------------------------------

  async open(listener: SessionListener, signal: AbortSignal): Promise<void> {
    if (this.closed) throw driverClosed(this.dialect, "open a session");
    this.stopSessionTimers();
    const previous = this.session?.id;
    try {
      const store = await this.prepare();
      const id = randomUUID();
      const sentAt = performance.now();
      // SQLite: a locked database is waited for (asynchronously) until `signal` aborts or the busy deadline.
      await store.openSession(id, this.config.memberId, this.options.sessionTimeout, previous, { signal });
      if (this.closed) {
        await store.endSession(id).catch(() => {});
        throw driverClosed(this.dialect, "open a session");
      }
      const keeper = new TtlSession({
        listener,
        ttl: this.options.sessionTimeout,
        interval: this.options.heartbeatInterval,
        renew: (signal) => this.beat(store, id, signal),
        logger: this.config.logger,
        openedAt: performance.now(),
        onState: (state, reason) => this.onSessionState(state, reason),
      });
      this.session = { id, keeper };
      this.armPrune();
      listener.renewed(sentAt);
    } catch (error) {
      throw this.openError(error);
    }
  }

  /** Classifies a failed open: bad configuration and refused credentials will not get better by retrying. */
  private openError(error: unknown): RollcallError {
    if (RollcallError.isInstance(error)) return error;
    const text = this.connectionError(error).message;
    if (refusedCredentials(error)) return openFailure("refused", text, error);
    if (missingDirectory(error))
      return openFailure("configuration", `invalid URL ${this.config.url.redacted}: ${text}`, error);
    return openFailure("unreachable", text, error);
  }

  /**
   * One heartbeat, the session's renewal: its part of the process's next heartbeat statement on this
   * database (see `heartbeat-batch.ts`), which moves its deadline on along the database clock. SQLite
   * tries again while another process holds the write lock (without blocking the event loop) until the
   * session timeout or the keeper stops; only the try that committed renewed the session, so its send
   * time is the renewal's.
   */
  private async beat(store: SqlStore, id: string, signal: AbortSignal): Promise<Renewal> {
    const timeout = this.options.sessionTimeout;
    try {
      const batch = HeartbeatBatch.of(store, timeout, this.options.heartbeatInterval);
      // A watching driver wants the namespace's next deadline (one more statement per batch on MySQL).
      const result = await batch.beat(id, store, performance.now() + timeout, signal, this.watching);
      if (!result.alive)
        return { alive: false, reason: "the session's deadline passed on the database clock" };
      const { now, nextDeadline } = result;
      if (now !== undefined && nextDeadline != null && !signal.aborted)
        this.noteNextDeadline(now, nextDeadline);
      return { alive: true, sentAt: result.sentAt };
    } catch (error) {
      if (signal.aborted && error === signal.reason) throw error;
      throw new RollcallError("CONNECTION", this.scrub(error), { cause: error });
    }
  }

  /** Logs the session's states in the database's words; an expired session's timers go. */
  private onSessionState(state: "connected" | "suspended" | "expired", reason: string): void {
    const target = this.target;
    if (state === "suspended")
      this.config.logger.warn("the database is unreachable; session suspended", { target, reason });
    else if (state === "connected")
      this.config.logger.info("the database is reachable again; same session", { target });
    else {
      this.stopSessionTimers();
      this.config.logger.warn("session expired", { target, reason });
    }
  }

  private stopSessionTimers(): void {
    this.session?.keeper.stop();
    clearTimeout(this.reapTimer);
    clearTimeout(this.pruneTimer);
    this.reapTimer = this.pruneTimer = undefined;
  }

  private armPrune(): void {
    clearTimeout(this.pruneTimer);
    const period = this.options.changeRetention / 2;
    this.pruneTimer = setTimeout(
      () => {
        void this.store
          ?.prune(this.options.changeRetention)
          .catch((error) =>
            this.config.logger.debug("pruning the change log failed", {
              error: String(error?.message ?? error),
            }),
          )
          .finally(() => {
            if (this.session?.keeper.live && !this.closed) this.armPrune();
          });
      },
      period * (0.5 + Math.random()),
    );
    this.pruneTimer.unref?.();
  }

  // ---- reaping -----------------------------------------------------------------------------------

  /**
   * Whether this driver waits for others' changes: a feed follows a change log (on NOTIFY, or hinted
   * polls), or a candidate awaits its predecessor's departure.
   */
  private get watching(): boolean {
    return (
      (this.pgHints?.size ?? 0) > 0 ||
      this.sqliteHints?.watching === true ||
      this.probes.size > 0 ||
      this.awaiting > 0
    );
  }

  /** `awaitGone` calls under way. */
  private awaiting = 0;

  /**
   * Someone's deadline is known (from a heartbeat): past, reap now; ahead and this driver watches, reap
   * right when it passes.
   */
  private noteNextDeadline(dbNow: number, nextDeadline: number): void {
    if (nextDeadline <= dbNow) {
      void this.reapNow().then(() => this.followDeadlines());
      return;
    }
    if (this.watching) this.armReap(nextDeadline - dbNow + 20);
  }

  private armReap(delay: number): void {
    clearTimeout(this.reapTimer);
    this.reapTimer = setTimeout(() => void this.followDeadlines(), delay);
    this.reapTimer.unref?.();
  }

  /**
   * While this driver watches: reads the earliest deadline of another session; reaps if it has passed,
   * and arms the reap for the next one. Several sessions dying a moment apart are then each reaped when
   * their own deadline passes, not the later ones at this driver's next heartbeat (a heartbeat interval
   * late). While everyone renews, each heartbeat moves the timer on before it fires: no extra statement.
   */
  private async followDeadlines(): Promise<void> {
    for (let round = 0; round < 2; round++) {
      const store = this.store;
      const own = this.session?.id;
      if (store === undefined || this.closed || !this.watching) return;
      let next: { now: number; nextDeadline: number | null };
      try {
        next = await store.nextDeadline(own === undefined ? [] : [own]);
      } catch (error) {
        this.config.logger.debug("reading the next deadline failed", {
          error: String((error as Error)?.message ?? error),
        });
        return;
      }
      const { now, nextDeadline } = next;
      if (nextDeadline === null || this.closed || !this.watching) return;
      if (nextDeadline > now) {
        this.armReap(nextDeadline - now + 20);
        return;
      }
      // Still past right after a reap (another one raced it): look again shortly rather than spin.
      if (round > 0) {
        this.armReap(50);
        return;
      }
      await this.reapNow();
    }
  }

  /** Reaps expired sessions (coalesced: one reap at a time per driver). */
  private reapNow(): Promise<void> {
    const store = this.store;
    if (store === undefined || this.closed) return Promise.resolve();
    this.reaping ??= store
      .reap()
      .then((n) => {
        if (n > 0) this.config.logger.debug("reaped expired members", { count: n });
      })
      .catch((error) =>
        this.config.logger.debug("reaping failed", { error: String(error?.message ?? error) }),
      )
      .finally(() => {
        this.reaping = undefined;
      });
    return this.reaping;
  }

  // ---- groups and members ------------------------------------------------------------------------

  createGroup(group: string): Promise<void> {
    return this.guard(() => this.requireSession().store.createGroup(group));
  }

  deleteGroup(group: string): Promise<void> {
    return this.guard(() => this.requireSession().store.deleteGroup(group));
  }

  listGroups(): Promise<string[]> {
    return this.guard(() => this.requireSession().store.listGroups());
  }

  private async sessionWrite<T>(fn: (store: SqlStore, sessionId: string) => Promise<T>): Promise<T> {
    const { store, session } = this.requireSession();
    try {
      return await fn(store, session.id);
    } catch (error) {
      if (RollcallError.hasCode(error, "SESSION_EXPIRED"))
        session.keeper.expire("the database says the session's deadline has passed");
      throw this.connectionError(error);
    }
  }

  join(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    return this.sessionWrite((store, session) => store.join(session, group, memberId, metadata));
  }

  leave(group: string, memberId: string): Promise<void> {
    return this.sessionWrite((store, session) => store.leave(session, group, memberId));
  }

  update(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    return this.sessionWrite((store, session) => store.update(session, group, memberId, metadata));
  }

  members(group: string): Promise<GroupSnapshot> {
    return this.guard(async () => {
      const store = this.requireSession().store;
      let read = await store.readMembers(group);
      if (read.stale) {
        // A listed member's deadline has passed: reap (writing its leave) and read again.
        await this.reapNow();
        read = await store.readMembers(group);
      }
      return { members: read.members, revision: read.revision };
    });
  }

  changes(group: string, sinceRevision: bigint): Promise<ChangeBatch> {
    return this.guard(async () => {
      this.requireSession();
      const batch = await this.readChanges(group, sinceRevision);
      return "resync" in batch
        ? { resync: batch.resync }
        : { events: batch.events, revision: batch.revision, ...(batch.more ? { more: true } : {}) };
    });
  }

  /** The change log after `since`; a passed deadline among the sessions is reaped first. */
  private async readChanges(group: string, since: bigint): Promise<ChangeBatch & { more?: boolean }> {
    const store = this.store;
    if (store === undefined) throw noSession(this.dialect, `${this.target}: not opened yet`);
    const batch = await store.readChanges(group, since);
    if (!batch.stale) return batch;
    await this.reapNow();
    return store.readChanges(group, since);
  }

  // ---- awaitGone (PostgreSQL) -------------------------------------------------------------------

  /**
   * Checks the member, then waits for the group's next NOTIFY (or a LISTEN reconnect), and again. A member
   * whose session is past its deadline counts as gone (a reap is started, so the caller's next read no
   * longer lists it). Failures — the database away, no session yet — are waited out, never reported:
   * core reads a rejection as "gone". Checks at least every session timeout even without a NOTIFY.
   */
  private async awaitMemberGone(
    group: string,
    memberId: string,
    signal: AbortSignal,
    seq: bigint | undefined,
  ): Promise<void> {
    const hints = this.pgHints;
    if (hints === undefined) throw new RollcallError("NOT_SUPPORTED", `${this.dialect} has no awaitGone`);
    // A waiting candidate reaps its predecessor's session right at its deadline, as a watcher does.
    this.awaiting++;
    void this.followDeadlines();
    try {
      await this.awaitGoneLoop(hints, group, memberId, signal, seq);
    } finally {
      this.awaiting--;
    }
  }

  private async awaitGoneLoop(
    hints: PgHints,
    group: string,
    memberId: string,
    signal: AbortSignal,
    seq: bigint | undefined,
  ): Promise<void> {
    for (let failures = 0; ; ) {
      signal.throwIfAborted();
      if (this.closed) throw driverClosed(this.dialect, `wait for member "${memberId}" to leave`);
      const next = hints.nextNotification(group);
      let pause = this.options.sessionTimeout;
      try {
        await hints.ensureListening();
        const state = await this.requireSession().store.memberState(group, memberId, seq);
        if (state === "expired") void this.reapNow();
        if (state !== "present") return;
        failures = 0;
      } catch (error) {
        failures++;
        pause = backoff(failures - 1, { initial: 100, max: Math.min(this.options.sessionTimeout, 3200) });
        this.config.logger.debug("awaitGone: check failed; retrying", {
          group,
          memberId,
          error: String((error as Error)?.message ?? error),
        });
      }
      try {
        await waitFor(next.promise, pause, signal);
      } finally {
        next.cancel();
      }
    }
  }

  // ---- closing -----------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const session = this.session;
    const live = session?.keeper.live === true;
    this.stopSessionTimers();
    this.session = undefined;
    this.sqliteHints?.close();
    for (const unsubscribe of [...this.probes]) unsubscribe();
    this.probes.clear();
    const hintsClosed = this.pgHints?.close();
    const bound = Math.max(1000, Math.min(5000, this.options.sessionTimeout));
    const store = this.store;
    if (session !== undefined && store !== undefined && live) {
      await bounded(
        store.endSession(session.id, { deadline: performance.now() + bound }),
        bound,
        "ending the session",
      ).catch((error) =>
        this.config.logger.debug("leaving on close failed", { error: String(error?.message ?? error) }),
      );
    }
    if (hintsClosed) await bounded(hintsClosed, bound).catch(() => {});
    if (this.releaseKnex) await bounded(this.releaseKnex(), bound).catch(() => {});
  }
}

/**
 * Whether the server refused the credentials: PostgreSQL SQLSTATE class 28 (invalid authorization:
 * 28000, 28P01 wrong password) or a password asked for and not given; MySQL/MariaDB access denied
 * (1044, 1045, 1698).
 */
function refusedCredentials(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    const { code, errno } = e as { code?: unknown; errno?: unknown };
    if (typeof code === "string" && /^28[0-9A-Z]{3}$/.test(code)) return true;
    if (code === "ER_ACCESS_DENIED_ERROR" || code === "ER_DBACCESS_DENIED_ERROR") return true;
    if (errno === 1044 || errno === 1045 || errno === 1698) return true;
    // node-postgres, asked for a SCRAM password when the URL has none.
    if (e instanceof Error && /^SASL: .*password/.test(e.message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** SQLite asked to create a database file in a directory that does not exist. */
function missingDirectory(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === "SQLITE_CANTOPEN" || (typeof message === "string" && /directory does not exist/.test(message))
  );
}
