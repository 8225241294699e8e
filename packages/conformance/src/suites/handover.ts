import type { Coordinator, Leadership } from "@rollcall/core";
import { describe, it } from "vitest";
import { eventually, type Harness, randomId } from "../harness.js";

/**
 * The hand-over bound where the backend pushes changes, in ms. A resignation is a delete on the
 * server, a notification to the waiting candidate (`awaitGone`, or the group's watch), one
 * `members()` and the campaign's promise resolving: tens of ms on every backend we ship, a few
 * hundred on a loaded two-core machine. Core's periodic re-check of the predecessor (the safety net
 * for a driver whose notification never fires) waits `max(1000, sessionTimeout)` ms, so a hand-over
 * within this bound cannot have been rescued by it (see {@link HANDOVER_SETTLE}).
 */
export const PUSH_HANDOVER_BOUND = 500;

/**
 * The poll interval the check puts in the URL of a `watch: "poll"` backend, in ms. The bound there is
 * one poll interval (the change may land just after a poll) plus {@link POLL_HANDOVER_SLACK}.
 */
export const HANDOVER_POLL_INTERVAL = 200;

/** Slack on top of one poll interval for a polling backend's hand-over, in ms (as for pushing ones). */
export const POLL_HANDOVER_SLACK = 400;

/**
 * How long the check lets the waiting candidate settle into its wait for the predecessor after it
 * shows up among the candidates, in ms. Core starts its periodic re-check when that wait begins, so
 * the re-check cannot fire sooner than `max(1000, sessionTimeout) - HANDOVER_SETTLE` (minus the time
 * to see the candidate) after the resignation: at least ~850 ms, clearly above both bounds.
 */
export const HANDOVER_SETTLE = 100;

/** Core's periodic re-check of a one-seat candidate's predecessor, for a driver's `sessionTimeout`. */
export function predecessorRecheck(sessionTimeout: number): number {
  return Math.max(1000, sessionTimeout);
}

/** The hand-over bound the check applies to a backend that pushes or polls, in ms. */
export function handoverBound(watch: "push" | "poll"): number {
  return watch === "push" ? PUSH_HANDOVER_BOUND : HANDOVER_POLL_INTERVAL + POLL_HANDOVER_SLACK;
}

async function waitForCandidate(coord: Coordinator, election: string, h: Harness): Promise<void> {
  await eventually(
    async () => (await coord.election(election).candidates()).some((m) => m.id === coord.memberId),
    h.eventTimeout,
    `${coord.memberId} to be a candidate in ${election}`,
  );
  // Let the candidate get from its join into its wait on the predecessor (a members() away).
  await new Promise((r) => setTimeout(r, HANDOVER_SETTLE));
}

/**
 * Check f: after `resign()`, the next candidate is elected within {@link handoverBound} — on a backend
 * that pushes, {@link PUSH_HANDOVER_BOUND}; on one that polls, one poll interval plus slack — in two
 * successive hand-overs (a → b, then b → a). A driver whose "predecessor gone" notification
 * (`awaitGone`) never fires is rescued only by core's periodic re-check, `max(1000, sessionTimeout)`
 * ms after the candidate began waiting, and fails.
 *
 * @throws Error naming the hand-over that took too long (or never happened), with the bound and the
 * re-check period
 */
export async function checkResignHandover(h: Harness): Promise<void> {
  const watch = h.characteristics.watch;
  const extra: Record<string, number> = watch === "poll" ? { pollInterval: HANDOVER_POLL_INTERVAL } : {};
  const a = await h.coordinator(randomId("first"), extra);
  const b = await h.coordinator(randomId("second"), extra);
  const election = randomId("handover");
  const bound = handoverBound(watch);
  const recheck = predecessorRecheck(Math.max(a.sessionTimeout, b.sessionTimeout));
  // Keep a wide gap between the bound and the rescue, so neither a slow honest backend nor a rescued
  // broken one lands on the wrong side by chance.
  if (bound + HANDOVER_SETTLE + 150 > recheck)
    throw new Error(`the kit's hand-over bound ${bound} ms is too close to core's re-check ${recheck} ms`);

  let holder: Leadership = await withDeadline(
    a.election(election).campaign(),
    h.eventTimeout,
    `${a.memberId} elected in ${election}`,
  );
  let [leader, next] = [a, b];
  for (const round of [1, 2]) {
    const pending = next.election(election).campaign();
    pending.catch(() => {});
    await waitForCandidate(next, election, h);
    const resignedAt = performance.now();
    await holder.resign();
    const successor = await withDeadline(
      pending,
      recheck + h.eventTimeout,
      `${next.memberId} elected after ${leader.memberId} resigned (hand-over ${round})`,
    );
    const took = performance.now() - resignedAt;
    if (took > bound) {
      throw new Error(
        `hand-over ${round} of ${election}: ${next.memberId} was elected ${Math.round(took)} ms after ` +
          `${leader.memberId} resigned; the bound is ${bound} ms (watch: ${watch}). Core's periodic ` +
          `re-check of the predecessor fires after ${recheck} ms: a hand-over that slow means the ` +
          `driver's "predecessor gone" notification (awaitGone, or the group's watch) never fired`,
      );
    }
    if (successor.token <= holder.token) {
      throw new Error(
        `hand-over ${round} of ${election}: token ${successor.token} after ${holder.token}: fencing tokens must grow`,
      );
    }
    holder = successor;
    [leader, next] = [next, leader];
  }
  await holder.resign();
}

/** Rejects with a description of what did not happen when `promise` is not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Check f as a vitest suite. */
export function handoverSuite(h: Harness): void {
  describe("hand-over", () => {
    it(
      "resign() hands over within a tight bound, not at core's periodic re-check",
      () => checkResignHandover(h),
      h.eventTimeout * 4 + 20_000,
    );
  });
}
