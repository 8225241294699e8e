import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`, 100 on Linux almost everywhere). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name, or undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Every live pid with its parent pid. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = statFields(pid);
    if (fields) map.set(pid, Number(fields[1]));
  }
  return map;
}

/** The given processes and all their live descendants (PostgreSQL's backends, for example). */
export function processTree(roots: readonly number[]): number[] {
  const ppid = parents();
  const children = new Map<number, number[]>();
  for (const [pid, parent] of ppid) {
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = roots.filter((pid) => ppid.has(pid));
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds (user + system, including reaped children) consumed so far by each process, from
 * /proc/<pid>/stat. Processes that are gone are left out.
 */
export function cpuSecondsByPid(pids: readonly number[]): Map<number, number> {
  const hz = clockTicks();
  const out = new Map<number, number>();
  for (const pid of pids) {
    const f = statFields(pid);
    if (!f) continue;
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    out.set(pid, ticks / hz);
  }
  return out;
}

/**
 * CPU seconds a set of process trees used between two readings: each process's growth, counting a
 * process that appeared in between from zero.
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return Math.max(0, total);
}

/** Resident memory in bytes of the given processes together (VmRSS). */
export function rssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/**
 * Proportional set size in bytes of the given processes together (Pss from /proc/<pid>/smaps_rollup):
 * memory shared between them (PostgreSQL's shared buffers) is counted once overall, not once per process.
 * Falls back to VmRSS where smaps_rollup cannot be read.
 */
export function pssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      if (match) {
        total += Number(match[1]) * 1024;
        continue;
      }
    } catch {
      // fall back below
    }
    total += rssBytes([pid]);
  }
  return total;
}

/** Reads the CPU of process trees at one moment; {@link TreeCpu.since} gives the CPU used after it. */
export class TreeCpu {
  private readonly start: Map<number, number>;

  constructor(private readonly roots: () => readonly number[]) {
    this.start = cpuSecondsByPid(processTree(roots()));
  }

  /** CPU seconds used by the trees since this reading. */
  since(): number {
    return cpuDelta(this.start, cpuSecondsByPid(processTree(this.roots())));
  }
}
