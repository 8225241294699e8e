import { resolve } from "node:path";
import knexFactory, { type Knex } from "knex";

interface Shared {
  knex: Knex;
  users: number;
}

/** The pools of this process, by database and connection settings. */
const pools = new Map<string, Shared>();

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
