import { readdirSync, readFileSync } from "node:fs";

interface ProcStat {
  ppid: number;
  state: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." where comm may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", ppid: Number(fields[1]) };
}

/**
 * Whether a process exists and is not a zombie (a zombie holds no port, no memory and no files).
 */
export function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  const stat = readStat(pid);
  if (stat !== undefined) return stat.state !== "Z" && stat.state !== "X";
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Every live descendant of a process (children, grandchildren, …), found through /proc.
 */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const stat = readStat(child);
    if (stat === undefined) continue;
    const list = children.get(stat.ppid);
    if (list === undefined) children.set(stat.ppid, [child]);
    else list.push(child);
  }
  const result: number[] = [];
  const queue = [pid];
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    for (const child of children.get(current) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

/**
 * Send a signal to a process, its process group and all of its descendants (PostgreSQL backends put
 * themselves in their own sessions, so the group alone is not enough). Errors (already gone) are ignored.
 *
 * @returns the pids that were signalled.
 */
export function signalTree(pid: number, signal: NodeJS.Signals): number[] {
  const victims = [pid, ...descendants(pid)];
  for (const victim of victims) {
    try {
      process.kill(victim, signal);
    } catch {
      // already gone
    }
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // not a group leader, or the group is empty
  }
  return victims;
}
