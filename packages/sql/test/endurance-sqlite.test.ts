import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runEndurance } from "@rollcall/conformance";
import "@rollcall/sql";
import { holdWriteLock } from "./write-lock.js";

/** The part of better-sqlite3 (the driver @rollcall/sql uses for SQLite) this test needs. */
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): { all(): unknown[]; get(): unknown };
  close(): void;
}
const Database = createRequire(import.meta.url)("better-sqlite3") as new (
  file: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => SqliteDatabase;

const SESSION_TIMEOUT = 2000;
/**
 * The change log's retention for this run (the default is ten minutes): a minute, so that pruning runs
 * under load inside a short run and a long run shows the database file reaching its ceiling.
 */
const CHANGE_RETENTION = 60_000;

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// The embedded default. SQLite has no server to pause or restart: its storm is a stalled database —
// another process's connection holding the write lock (BEGIN EXCLUSIVE) for a quarter of the session
// timeout, so no renewal, join or leave can commit meanwhile. Objects are the rows of every table; the
// detail carries the database and WAL file sizes, whose ceiling is the change log's retention.
runEndurance({
  name: "sqlite",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-soak-sqlite-"));
    const file = join(dir, "rollcall.db");
    const stall = async () => {
      const lock = await holdWriteLock(file);
      await new Promise((r) => setTimeout(r, SESSION_TIMEOUT / 4));
      await lock.end();
    };
    return {
      url: `sqlite://${file}?changeRetention=${CHANGE_RETENTION}`,
      storms: [{ name: `write lock held ${SESSION_TIMEOUT / 4} ms`, run: stall }],
      stats: async () => {
        const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 });
        try {
          const tables = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .all() as { name: string }[];
          let rows = 0;
          for (const { name } of tables) {
            const { n } = db.prepare(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as {
              n: number;
            };
            rows += n;
          }
          return {
            connections: 0,
            objects: rows,
            detail: { dbBytes: fileBytes(file), walBytes: fileBytes(`${file}-wal`) },
          };
        } finally {
          db.close();
        }
      },
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
