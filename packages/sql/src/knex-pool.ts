import { resolve } from "node:path";
import knexFactory, { type Knex } from "knex";

interface Shared {
  knex: Knex;
  users: number;
}

const sqliteFiles = new Map<string, Shared>();

/**
 * A knex instance for a driver. SQLite connections are shared per file within a process: better-sqlite3
 * is synchronous, so a second connection of the same process waiting on the file's write lock would
 * block the event loop that the lock holder needs to commit — a deadlock until the busy timeout.
 * One connection per file and process lets knex queue the coordinators of a process instead; processes
 * still wait on each other through the lock and the busy timeout.
 */
export function acquireKnex(
  config: Knex.Config,
  sqliteFile: string | undefined,
): { knex: Knex; release(): Promise<void> } {
  if (sqliteFile === undefined) {
    const knex = knexFactory(config);
    return { knex, release: () => knex.destroy() };
  }
  const key = resolve(sqliteFile);
  let shared = sqliteFiles.get(key);
  if (shared === undefined) {
    shared = { knex: knexFactory(config), users: 0 };
    sqliteFiles.set(key, shared);
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
      if (sqliteFiles.get(key) === entry) sqliteFiles.delete(key);
      await entry.knex.destroy();
    },
  };
}
