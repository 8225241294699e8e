import { appendFileSync, existsSync, readFileSync } from "node:fs";

/**
 * One run of a kit reactor's handler, as the handler appends it to the side-effect file before doing
 * anything else: the file outlives the process, so a run cut short by SIGKILL is still counted. JSON-safe
 * (the sequence number and the fencing token are decimal strings).
 */
export interface ReactorRun {
  /** The departure's idempotency key, `<memberId>@<seq>`. */
  key: string;
  /** The departed member. */
  memberId: string;
  /** Its incarnation. */
  seq: string;
  /** The fencing token the handler ran under. */
  token: string;
  /** The member id of the reactor process that ran it. */
  reactor: string;
  /** The process that ran it. */
  pid: number;
  /** The reactor's attempt number for this departure. */
  attempt: number;
  /** When it started (epoch ms). */
  at: number;
}

/** Appends `run` as one JSON line (a single `O_APPEND` write, so processes writing at once do not interleave). */
export function appendRun(file: string, run: ReactorRun): void {
  appendFileSync(file, `${JSON.stringify(run)}\n`);
}

/**
 * The runs recorded in `file` so far, in the order they were appended (none if it does not exist yet). A
 * last line cut short (its writer killed mid-write) is not a run.
 */
export function readRuns(file: string): ReactorRun[] {
  if (!existsSync(file)) return [];
  const runs: ReactorRun[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      runs.push(JSON.parse(line) as ReactorRun);
    } catch {
      // A torn last line: its writer died before finishing it.
    }
  }
  return runs;
}
