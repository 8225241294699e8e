import { resolve } from "node:path";
import knexFactory, { type Knex } from "knex";

interface Shared {
  knex: Knex;
  users: number;
}

const sqliteFiles = new Map<string, Shared>();

/**
 * A knex instance for a driver. SQLite connections are shared per file within a process: better-sqlite3
 * is synchronous, so a second connection of the same process could only wait for the file's write lock
 * that the first holds by polling — while the first needs the same event loop to commit. One connection
 * per file and process lets knex queue the coordinators of a process instead (and lets them share one
 * write queue); processes wait on each other through the lock, asynchronously (see `sqlite-busy.ts`).
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
