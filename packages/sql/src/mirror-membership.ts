import { type GroupView, type MembershipEvent, parseUrl, RollcallError } from "@rollcall/core";
import type { Knex } from "knex";
import { knexConfig, sqliteFilename } from "./dialect.js";
import { acquireKnex } from "./knex-pool.js";
import type { Dialect } from "./options.js";
import { type WriteQueue, writeQueue } from "./sqlite-busy.js";

/** A scalar a `where` filter can compare with. */
export type MirrorValue = string | number | boolean | null;

/** Options of {@link mirrorMembership}. */
export interface MirrorOptions {
  /** The application's knex instance (left open by `close()`). Give this or `url`. */
  knex?: Knex;
  /**
   * Or a URL of the application's database (`postgresql://…/db`, `mysql://…/db`, `sqlite:///file.db`):
   * the mirror opens its own pool and closes it with `close()`.
   */
  url?: string;
  /** The application's table, e.g. `services` (or `schema.table`). */
  table: string;
  /** The column holding the member id, e.g. `host`. */
  idColumn: string;
  /** The boolean column to keep current, e.g. `is_up`. */
  isUpColumn: string;
  /** Only rows matching these column values are touched, e.g. `{ topic: "compute" }`. */
  where?: Record<string, MirrorValue>;
  /** Called when a write fails (the mirror retries with a full re-sync). */
  onError?: (error: unknown) => void;
  /** Delay before retrying after a failed write, in ms (default 1000). */
  retryInterval?: number;
}

/** A running mirror. */
export interface MembershipMirror extends AsyncDisposable {
  /** Resolves once every change seen so far is written to the table. */
  flushed(): Promise<void>;
  /** Stops following the view (the view itself stays open) and releases the mirror's own pool. */
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function checkIdentifier(what: string, name: unknown, qualified = false): string {
  const parts = typeof name === "string" ? name.split(".") : [];
  const ok =
    parts.length >= 1 && parts.length <= (qualified ? 2 : 1) && parts.every((p) => IDENTIFIER.test(p));
  if (!ok)
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${what} must be an SQL identifier of [A-Za-z0-9_]${qualified ? " (optionally schema.table)" : ""}, got ${JSON.stringify(name)}`,
    );
  return name as string;
}

const SCHEMES: Record<string, Dialect> = {
  postgresql: "postgresql",
  postgres: "postgresql",
  mysql: "mysql",
  mariadb: "mysql",
  sqlite: "sqlite",
};

/**
 * Mirrors a group's membership into a boolean column of the application's own table — the blueprint's
 * "flush the membership updates back to the DB (a new column `is_up`), so that DB queries can
 * efficiently filter out services which are unavailable". The view is the source of truth; the mirror
 * sets `isUpColumn` true for rows whose `idColumn` is a member and false for the others (among the
 * rows matching `where`), at start, on every join and leave, and fully again after a snapshot or a
 * failed write. Writes are coalesced and applied in order; every statement is parameterised.
 *
 * @example
 * ```ts
 * const view = await coordinator.view("compute");
 * const mirror = await mirrorMembership(view, { knex, table: "services", idColumn: "host", isUpColumn: "is_up", where: { topic: "compute" } });
 * // SELECT host FROM services WHERE topic = 'compute' AND is_up  — always the live compute hosts
 * ```
 */
export async function mirrorMembership(view: GroupView, options: MirrorOptions): Promise<MembershipMirror> {
  const table = checkIdentifier("table", options.table, true);
  const idColumn = checkIdentifier("idColumn", options.idColumn);
  const isUpColumn = checkIdentifier("isUpColumn", options.isUpColumn);
  const where: Record<string, MirrorValue> = {};
  for (const [column, value] of Object.entries(options.where ?? {}))
    where[checkIdentifier("where column", column)] = value;
  let knex = options.knex;
  let release: (() => Promise<void>) | undefined;
  // Our own SQLite pool has no busy timeout: its writes wait for another process's lock asynchronously.
  let writes: WriteQueue | undefined;
  if (knex === undefined) {
    if (options.url === undefined)
      throw new RollcallError("INVALID_ARGUMENT", "mirrorMembership needs knex or url");
    const url = parseUrl(options.url);
    const dialect = SCHEMES[url.scheme];
    if (dialect === undefined)
      throw new RollcallError("INVALID_ARGUMENT", `mirrorMembership: unsupported scheme ${url.scheme}:`);
    const config = knexConfig(dialect, url, { poolSize: 2, ssl: false, connectTimeout: 10_000 });
    const acquired = acquireKnex(config, dialect === "sqlite" ? sqliteFilename(url) : undefined);
    knex = acquired.knex;
    release = acquired.release;
    if (dialect === "sqlite") writes = writeQueue(knex);
  }
  const db = knex;
  const retryInterval = options.retryInterval ?? 1000;
  let fullSync = true;
  const pending = new Map<string, boolean>();
  let closed = false;
  let closing = false;
  let worker: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const rows = (trx: Knex | Knex.Transaction) => trx(table).where(where);
  const transaction = (fn: (trx: Knex.Transaction) => Promise<void>): Promise<void> =>
    writes === undefined ? db.transaction(fn) : writes.run(() => db.transaction(fn));

  async function writeAll(): Promise<void> {
    const ids = view.members().map((m) => m.id);
    await transaction(async (trx) => {
      if (ids.length === 0) {
        await rows(trx).update({ [isUpColumn]: false });
        return;
      }
      await rows(trx)
        .whereIn(idColumn, ids)
        .update({ [isUpColumn]: true });
      await rows(trx)
        .whereNotIn(idColumn, ids)
        .update({ [isUpColumn]: false });
    });
  }

  async function writeSome(changes: Map<string, boolean>): Promise<void> {
    const up = [...changes].filter(([, v]) => v).map(([id]) => id);
    const down = [...changes].filter(([, v]) => !v).map(([id]) => id);
    await transaction(async (trx) => {
      if (up.length > 0)
        await rows(trx)
          .whereIn(idColumn, up)
          .update({ [isUpColumn]: true });
      if (down.length > 0)
        await rows(trx)
          .whereIn(idColumn, down)
          .update({ [isUpColumn]: false });
    });
  }

  async function drain(): Promise<void> {
    while (!closed && (fullSync || pending.size > 0)) {
      const all = fullSync;
      const batch = new Map(pending);
      fullSync = false;
      pending.clear();
      try {
        if (all) await writeAll();
        else await writeSome(batch);
      } catch (error) {
        fullSync = true;
        options.onError?.(error);
        if (closing) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          retryTimer = setTimeout(resolve, retryInterval);
        });
      }
    }
  }

  function kick(): Promise<void> {
    worker ??= drain().finally(() => {
      worker = undefined;
      if (!closed && !closing && (fullSync || pending.size > 0)) void kick();
    });
    return worker;
  }

  const onChange = (event: MembershipEvent) => {
    if (event.type === "snapshot") fullSync = true;
    else if (event.type === "join") pending.set(event.member.id, true);
    else if (event.type === "leave") pending.set(event.memberId, false);
    else return;
    void kick();
  };
  view.on("change", onChange);
  await kick();

  const close = async () => {
    if (closing) return;
    closing = true;
    view.off("change", onChange);
    // Writes already queued are finished (one attempt each); a retry wait is cut short.
    clearTimeout(retryTimer);
    wake?.();
    await worker?.catch(() => {});
    closed = true;
    await release?.();
  };
  return {
    async flushed() {
      while (!closed && (worker !== undefined || fullSync || pending.size > 0)) await kick();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
