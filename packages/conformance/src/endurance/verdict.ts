import { FD_SLACK, type SoakReport } from "./soak.js";

/** Largest accepted descriptor slope after warm-up, per minute: reconnects churn a few, a leak climbs. */
export const MAX_FD_SLOPE = 6;

/**
 * The endurance suite's pass criteria, as a list of violations (empty: the run passed):
 * - no process died (the watcher; the load runs in the test's own process) and every error was typed;
 * - after warm-up, the heap after GC grows no faster than the profile's `maxHeapSlope` and descriptors
 *   no faster than {@link MAX_FD_SLOPE} per minute; after close, descriptors and server connections
 *   are back to their baseline;
 * - server objects stay within the target's `maxObjects` (its retention), when it declares one;
 * - after every storm, every coordinator completed a round and campaigns and locks succeeded again
 *   within the recovery bound (nothing stays blocked);
 * - at the end the view and the raw watch add up exactly to `members()`, and joins arrived in `seq`
 *   order.
 *
 * Errors are counted by code, in storms and outside them, and reported, not judged: a session that
 * expires because a loaded machine starved its process is liveness doing its job, and its typed
 * errors (`NOT_CONNECTED`, `SESSION_EXPIRED`, `MEMBER_NOT_JOINED` of an update after it) are what a
 * caller must handle.
 */
export function soakViolations(report: SoakReport): string[] {
  const v: string[] = [];
  if (report.watcherDied) v.push(`the watcher process died: ${report.watcherDied}`);
  if (report.untyped.length > 0) v.push(`untyped errors: ${report.untyped.join("; ")}`);
  if (report.heapSlope !== undefined && report.heapSlope > report.profile.maxHeapSlope)
    v.push(
      `heap after GC grew ${report.heapSlope.toFixed(2)} MB/min after warm-up (limit ${report.profile.maxHeapSlope})`,
    );
  if (report.fdSlope !== undefined && report.fdSlope > MAX_FD_SLOPE)
    v.push(`descriptors grew ${report.fdSlope.toFixed(1)}/min after warm-up (limit ${MAX_FD_SLOPE})`);
  if (report.fdsAfter > report.fdsBefore + FD_SLACK)
    v.push(`descriptors after close: ${report.fdsAfter}, before the load: ${report.fdsBefore}`);
  if (
    report.connectionsBefore !== undefined &&
    report.connectionsAfter !== undefined &&
    report.connectionsAfter > report.connectionsBefore
  )
    v.push(
      `server connections after close: ${report.connectionsAfter}, before the load: ${report.connectionsBefore}`,
    );
  if (report.maxObjects !== undefined) {
    const peak = Math.max(...report.samples.map((s) => s.server?.objects ?? 0));
    if (peak > report.maxObjects)
      v.push(`server objects peaked at ${peak}, over the bound ${report.maxObjects}`);
  }
  for (const storm of report.storms) {
    if (storm.recovery === undefined)
      v.push(
        `no recovery within ${report.recoveryBound} ms after storm "${storm.name}" at ${storm.at} s: ${storm.missing}`,
      );
  }
  if (typeof report.converged === "string")
    v.push(`view and watch did not converge on members(): ${report.converged}`);
  if ((report.watcher?.seqOrderViolations ?? 0) > 0)
    v.push(
      `${report.watcher?.seqOrderViolations} joins arrived out of seq order (first: ${report.watcher?.firstViolation})`,
    );
  if (report.watcher?.watchError) v.push(`the raw watch ended: ${report.watcher.watchError}`);
  if ((report.ok.join ?? 0) === 0) v.push("no join ever succeeded");
  return v;
}
