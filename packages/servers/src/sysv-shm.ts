import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The System V shared memory id a PostgreSQL server records on line 7 of `postmaster.pid` ("key shmid").
 *
 * @returns the id, or undefined when the file or the line is missing.
 */
export function postgresShmId(dataDir: string): number | undefined {
  try {
    const line = readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[6] ?? "";
    const id = Number(line.trim().split(/\s+/)[1]);
    return Number.isInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remove a System V shared memory segment if nothing is attached to it any more. A PostgreSQL server that is
 * SIGKILLed leaves its (small) segment behind; a restarted server removes it itself, but a closed one cannot.
 *
 * @returns whether the segment was removed.
 */
export function removeOrphanedShm(shmid: number): boolean {
  let table: string;
  try {
    table = readFileSync("/proc/sysvipc/shm", "utf8");
  } catch {
    return false;
  }
  // Columns: key shmid perms size cpid lpid nattch uid gid ...
  const row = table
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => Number(fields[1]) === shmid);
  if (row === undefined || Number(row[6]) !== 0) return false;
  return spawnSync("ipcrm", ["-m", String(shmid)], { stdio: "ignore" }).status === 0;
}
