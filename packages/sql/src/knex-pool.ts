import { resolve } from "node:path";
import knexFactory, { type Knex } from "knex";

interface Shared {
  knex: Knex;
  users: number;
}

/** The pools of this process, by database and connection settings. */
const pools = new Map<string, Shared>();

/** What the drivers sharing a pool share besides it, by key (see {@link perPool}). */
const sharedByPool = new WeakMap<Knex, Map<string, unknown>>();

/**
 * The one `T` of `knex`'s pool under `key`, made by `create` on first use: what the drivers of a process on
 * one database share besides the pool (heartbeat batches, revision probes). It goes with the pool. Keys
 * start with the kind of thing they name, so kinds do not collide.
 */
export function perPool<T>(knex: Knex, key: string, create: () => T): T {
  let byKey = sharedByPool.get(knex);
  if (byKey === undefined) {
    byKey = new Map();
    sharedByPool.set(knex, byKey);
  }
  if (!byKey.has(key)) byKey.set(key, create());
  return byKey.get(key) as T;
}

/**
 * A knex instance (its connection pool) for a driver, shared by every driver of the process that connects
 * to the same database with the same settings: a process's 100 coordinators cost the server the pool's
 * few connections, not 100 (and their heartbeats share statements, see `heartbeat-batch.ts`). Released by
 * its last user.
 *
 * SQLite: one connection per file and process. better-sqlite3 is synchronous, so a second connection of
 * the same process could only wait for the file's write lock that the first holds by polling — while the
 * first needs the same event loop to commit. One connection per file and process lets knex queue the
 * coordinators of a process instead (and lets them share one write queue); processes wait on each other
 * through the lock, asynchronously (see `sqlite-busy.ts`).
 */
export function acquireKnex(
  config: Knex.Config,
  sqliteFile: string | undefined,
): {
  knex: Knex;
  release(): Promise<void>;
} {
  const key =
    sqliteFile === undefined
      ? `${String(config.client)}\0${JSON.stringify(config.connection)}\0${JSON.stringify(config.pool?.max)}\0${config.acquireConnectionTimeout}`
      : `sqlite\0${resolve(sqliteFile)}`;
  let shared = pools.get(key);
  if (shared === undefined) {
    shared = { knex: knexFactory(config), users: 0 };
    pools.set(key, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    knex: entry.knex,
    release: async () => {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.users > 0) return;
      if (pools.get(key) === entry) pools.delete(key);
      await entry.knex.destroy();
    },
  };
}
