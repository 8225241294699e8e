/**
 * What one cut of the partition scenario measured, from the moments its participants reported (all on
 * the host's wall clock, in ms). A moment is undefined when nobody reported it while it was waited for.
 */
export interface MemberCut {
  /** When the member's host link was cut, and when it was brought back. */
  cutAt: number;
  healAt: number;
  /** The watcher (root namespace) saw the member leave. */
  leaveAt?: number | undefined;
  /** The member's own session went `suspended`, then `expired` (the first of each after the cut). */
  suspendedAt?: number | undefined;
  expiredAt?: number | undefined;
  /** The watcher saw the member join again after the heal (its re-opened session re-joined). */
  rejoinAt?: number | undefined;
}

/** A cut leader and a candidate outside the cut. */
export interface LeaderCut {
  cutAt: number;
  healAt: number;
  /** The old leader's leadership signal aborted (reported by the leader itself). */
  abortedAt?: number | undefined;
  /** The candidate was told it leads. */
  electedAt?: number | undefined;
}

/** Samples (metric → value) and the tallies (counter → 1) of one cut, as the result records them. */
export interface CutSamples {
  samples: Record<string, number>;
  counts: string[];
}

function since(from: number, at: number | undefined, timeoutMs: number, name: string, out: CutSamples): void {
  if (at === undefined) return;
  out.samples[`${name}Ms`] = at - from;
  out.samples[`${name}Ratio`] = (at - from) / timeoutMs;
}

/**
 * The samples of a member cut: `leave`, `suspended` and `expired` from the cut, each in ms and ÷ the
 * session timeout, and `rejoinMs` from the heal. An `expired` the member reported only after the heal
 * (when it could reach the server again) is tallied as `expiredAfterHeal`, not sampled; what was never
 * seen is tallied as `noLeave`, `noSuspended`, `noExpired`, `noRejoin`.
 */
export function memberCutSamples(cut: MemberCut, timeoutMs: number): CutSamples {
  const out: CutSamples = { samples: {}, counts: [] };
  since(cut.cutAt, cut.leaveAt, timeoutMs, "leave", out);
  since(cut.cutAt, cut.suspendedAt, timeoutMs, "suspended", out);
  if (cut.expiredAt !== undefined && cut.expiredAt > cut.healAt) out.counts.push("expiredAfterHeal");
  else since(cut.cutAt, cut.expiredAt, timeoutMs, "expired", out);
  if (cut.rejoinAt !== undefined) out.samples.rejoinMs = cut.rejoinAt - cut.healAt;
  if (cut.leaveAt === undefined) out.counts.push("noLeave");
  if (cut.suspendedAt === undefined) out.counts.push("noSuspended");
  if (cut.expiredAt === undefined) out.counts.push("noExpired");
  if (cut.rejoinAt === undefined) out.counts.push("noRejoin");
  return out;
}

/**
 * The samples of a leader cut: `aborted` (the old leader's signal) and `elected` (the candidate) from
 * the cut, in ms and ÷ the session timeout, and `gapMs` = elected − aborted, which is positive when the old
 * leader stopped first. A gap ≤ 0 is tallied as `overlap` (two leaders at once); what was never seen as
 * `noAbort`, `noElection`.
 */
export function leaderCutSamples(cut: LeaderCut, timeoutMs: number): CutSamples {
  const out: CutSamples = { samples: {}, counts: [] };
  since(cut.cutAt, cut.abortedAt, timeoutMs, "aborted", out);
  since(cut.cutAt, cut.electedAt, timeoutMs, "elected", out);
  if (cut.abortedAt !== undefined && cut.electedAt !== undefined) {
    out.samples.gapMs = cut.electedAt - cut.abortedAt;
    if (out.samples.gapMs <= 0) out.counts.push("overlap");
  }
  if (cut.abortedAt === undefined) out.counts.push("noAbort");
  if (cut.electedAt === undefined) out.counts.push("noElection");
  return out;
}
