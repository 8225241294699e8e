import { connect } from "@rollcall/core";
import { loadedMemberId, loadMembers } from "./driver-loader.js";
import { mapLimit } from "./limit.js";

/** What the scale scenario asks an agent (started with `--expose-gc`) to do. */
export interface ScaleRequest {
  url: string;
  group: string;
  members: number;
  loaderSessions: number;
  snapshotRepetitions: number;
  membersCalls: number;
  isUpMs: number;
}

/** What it measured. */
export interface ScaleResult {
  loadMs: number;
  /** Time from `view(group)` to the view holding the snapshot, per new watcher. */
  snapshotMs: number[];
  /**
   * JS heap growth caused by the first view of the process (after GC). Later views in the same process
   * can share what a driver keeps per process, so only the first one is counted.
   */
  viewBytes: number[];
  /** Latency of `members(group)`. */
  membersMs: number[];
  /** `view.isUp(id)` calls per second, per measuring window (half the ids are members). */
  isUpPerSecond: number[];
  /** Size the views reported (should equal `members`). */
  viewSizes: number[];
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
}

/** Loads the group, then measures what a new watcher and a reader pay for 10,000 members. */
export async function runScale(request: ScaleRequest): Promise<ScaleResult> {
  const { drivers, ms: loadMs } = await loadMembers(
    request.url,
    request.group,
    request.members,
    request.loaderSessions,
  );
  const result: ScaleResult = {
    loadMs,
    snapshotMs: [],
    viewBytes: [],
    membersMs: [],
    isUpPerSecond: [],
    viewSizes: [],
  };
  try {
    for (let rep = 0; rep < request.snapshotRepetitions; rep++) {
      const coord = await connect(request.url, { memberId: `scale-reader-${rep}` });
      try {
        gc();
        const heapBefore = process.memoryUsage().heapUsed;
        const started = performance.now();
        const view = await coord.view(request.group);
        result.snapshotMs.push(performance.now() - started);
        result.viewSizes.push(view.size);
        gc();
        if (rep === 0) result.viewBytes.push(process.memoryUsage().heapUsed - heapBefore);
        if (rep === request.snapshotRepetitions - 1) {
          for (let i = 0; i < request.membersCalls; i++) {
            const t = performance.now();
            await coord.members(request.group);
            result.membersMs.push(performance.now() - t);
          }
          const ids = Array.from({ length: 2 * request.members }, (_, i) =>
            i % 2 === 0 ? loadedMemberId(i / 2) : `absent-${i}`,
          );
          for (let w = 0; w < 5; w++) {
            let calls = 0;
            let up = 0;
            const windowStart = performance.now();
            while (performance.now() - windowStart < request.isUpMs / 5) {
              for (const id of ids) if (view.isUp(id)) up++;
              calls += ids.length;
            }
            if (up === 0) throw new Error("isUp() found no member");
            result.isUpPerSecond.push(calls / ((performance.now() - windowStart) / 1000));
          }
        }
        await view.close();
      } finally {
        await coord.close();
      }
    }
  } finally {
    await mapLimit(drivers, 4, (d) => d.close().catch(() => {}));
  }
  return result;
}
