import type { Coordinator, GroupView } from "@rollcall/core";
import { describe, it } from "vitest";
import { type EventRecorder, type Harness, randomId, summary } from "../harness.js";
import { withDeadline } from "./handover.js";

/**
 * When a round sends its departure after opening the view (and the watch): after `turns` turns of the
 * event loop (`setImmediate`), or after `ms` milliseconds.
 */
export type GapStep = { turns: number } | { ms: number };

/**
 * One round per step. A view lists the group, then starts its watch from the listing's revision; the
 * departure has to land in between. Where that gap falls depends on the backend — a microtask after
 * the listing on memory://, a fraction of a millisecond on a loopback ZooKeeper (between the listing's
 * reply and the watch's registration), a round trip or two elsewhere — so the rounds sweep it: event
 * loop turns first (each lets one more reply in), then milliseconds, until the departure comes well
 * after the watch started.
 */
export const GAP_STEPS: readonly GapStep[] = [
  ...[0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 16].map((turns) => ({ turns })),
  ...[1, 2, 3, 5, 8, 13, 21, 40].map((ms) => ({ ms })),
];

async function wait(step: GapStep): Promise<void> {
  if ("ms" in step) {
    await new Promise((r) => setTimeout(r, step.ms));
    return;
  }
  for (let i = 0; i < step.turns; i++) await new Promise((r) => setImmediate(r));
}

function describeStep(step: GapStep): string {
  return "ms" in step ? `${step.ms} ms` : `${step.turns} event-loop turns`;
}

function ids(members: { id: string }[]): string[] {
  return members.map((m) => m.id).sort();
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** Polls `check` every 10 ms until it holds or `timeout` ms passed; resolves whether it held. */
async function settles(check: () => boolean, timeout: number): Promise<boolean> {
  const deadline = performance.now() + timeout;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/**
 * Check e (views and watches): a view and a watch opened while one member leaves and another stays
 * converge to `members()`, without the departed member — in every round of {@link GAP_STEPS}, each
 * placing the departure at another point between the view's listing and the start of its watch. A
 * driver whose `watch(fromRevision)` only delivers what happens after the watch started (a live
 * subscription that drops the backlog since the listing) keeps the departed member forever.
 *
 * @param steps - when each round's departure is sent after opening the view
 * @throws Error naming the round, the view or watch that did not converge, and what it holds
 */
export async function checkDepartureInGap(h: Harness, steps: readonly GapStep[] = GAP_STEPS): Promise<void> {
  // A polling backend is polled often, so that two dozen rounds of waiting for the leave stay short.
  const extra: Record<string, number> = h.characteristics.watch === "poll" ? { pollInterval: 100 } : {};
  const viewer = await h.coordinator(randomId("viewer"), extra);
  const watcher = await h.coordinator(randomId("watcher"), extra);
  const stayer = await h.coordinator(randomId("stays"));
  const leaver = await h.coordinator(randomId("leaves"));
  for (const [round, step] of steps.entries()) {
    const group = `gap-${round}`;
    await withDeadline(
      stayer.join(group, { createGroup: true }),
      h.eventTimeout,
      `${stayer.memberId} joined`,
    );
    await withDeadline(leaver.join(group), h.eventTimeout, `${leaver.memberId} joined`);
    // Open both, then leave: the view's listing is already on its way when the departure is sent.
    const opening = viewer.view(group);
    opening.catch(() => {});
    const recorder = h.record(watcher, group);
    await wait(step);
    await withDeadline(leaver.leave(group), h.eventTimeout, `${leaver.memberId} left`);
    const view = await withDeadline(opening, h.eventTimeout, `the view of ${group} opened`);
    try {
      await converge(h, round, describeStep(step), group, { viewer, stayer, leaver }, view, recorder);
    } finally {
      await view.close();
      await recorder.stop();
    }
  }
}

async function converge(
  h: Harness,
  round: number,
  when: string,
  group: string,
  who: { viewer: Coordinator; stayer: Coordinator; leaver: Coordinator },
  view: GroupView,
  recorder: EventRecorder,
): Promise<void> {
  const truth = ids(await withDeadline(who.viewer.members(group), h.eventTimeout, `members(${group})`));
  const where = `round ${round} (departure sent ${when} after opening): ${who.leaver.memberId} left ${group} while ${who.stayer.memberId} stayed`;
  if (!same(truth, [who.stayer.memberId])) {
    throw new Error(`${where}, but members(${group}) is [${truth.join(", ")}]`);
  }
  if (!(await settles(() => same(ids(view.members()), truth), h.eventTimeout))) {
    throw new Error(
      `${where}; ${h.eventTimeout} ms later the view still holds [${ids(view.members()).join(", ")}], not ` +
        `[${truth.join(", ")}]: a departure between the view's listing and the start of its watch was lost ` +
        `(watch(fromRevision) must deliver every change after the listing's revision)`,
    );
  }
  if (recorder.failure) throw new Error(`${where}; the watch failed: ${String(recorder.failure)}`);
  if (!(await settles(() => same([...recorder.ids()].sort(), truth), h.eventTimeout))) {
    throw new Error(
      `${where}; ${h.eventTimeout} ms later the watch adds up to [${[...recorder.ids()].sort().join(", ")}], ` +
        `not [${truth.join(", ")}]; events: ${recorder.events.map(summary).join(" | ")}`,
    );
  }
}

/** Check e (views and watches) as a vitest suite. */
export function watchGapSuite(h: Harness): void {
  describe("watch start during churn", () => {
    it(
      "a member leaving between a view's listing and its watch is not kept",
      () => checkDepartureInGap(h),
      h.eventTimeout * 6 + 30_000,
    );
  });
}
