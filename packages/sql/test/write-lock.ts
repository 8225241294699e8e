import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

/** Run by `node -e` in a process of its own: takes the file's write lock and holds it until stdin closes. */
const LOCK_HOLDER = `
const Database = require(process.env.ROLLCALL_BETTER_SQLITE3);
const db = new Database(process.env.ROLLCALL_SQLITE_FILE);
db.pragma("busy_timeout = 30000");
db.exec("BEGIN EXCLUSIVE");
process.stdout.write("locked\\n");
process.stdin.on("end", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
process.stdin.resume();
`;

/** A write lock held by another process: when it was taken, and `end()` (resolves with when it let go). */
export interface WriteLock {
  lockedAt: number;
  end(): Promise<number>;
}

/**
 * A stalled database: another process holds the file's write lock (`BEGIN EXCLUSIVE`; in WAL mode readers
 * carry on), so no heartbeat, join or reap can commit until `end()`. A process of its own, not a second
 * connection here: better-sqlite3 waits for a lock synchronously, so a holder in this process could not
 * be told to let go while this event loop waits.
 */
export async function holdWriteLock(file: string): Promise<WriteLock> {
  const holder = spawn(process.execPath, ["-e", LOCK_HOLDER], {
    env: {
      ...process.env,
      ROLLCALL_SQLITE_FILE: file,
      ROLLCALL_BETTER_SQLITE3: createRequire(import.meta.url).resolve("better-sqlite3"),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => holder.once("exit", () => resolve()));
  const locked = await new Promise<boolean>((resolve) => {
    createInterface({ input: holder.stdout }).once("line", (line) => resolve(line === "locked"));
    void exited.then(() => resolve(false));
  });
  if (!locked) throw new Error(`could not take the write lock of ${file}`);
  return {
    lockedAt: performance.now(),
    end: async () => {
      const releasing = performance.now();
      holder.stdin.end();
      await exited;
      return releasing;
    },
  };
}
