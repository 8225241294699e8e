import type { Coordinator, GroupView, Leadership, MembershipEvent } from "@rollcall/core";
import { describe, it } from "vitest";
import { type EventRecorder, type Harness, randomId, summary } from "../harness.js";
import { withDeadline } from "./handover.js";

/**
 * Group, election and lock names that share prefixes, all valid for core: a backend that stores them
 * as keys, paths, channels or `LIKE` patterns and matches one as a prefix of another mixes them up.
 */
export const PREFIX_NAMES: readonly string[] = [
  "a",
  "ab",
  "a.b",
  "a-b",
  "a:b",
  "a@b",
  "a.b.c",
  "ab.c",
  "a..b",
];

function ids(members: { id: string }[]): string {
  return `[${members
    .map((m) => m.id)
    .sort()
    .join(", ")}]`;
}

/** Whether a watch event is about `memberId` only (a snapshot of just it, or its join/update/leave). */
function about(event: MembershipEvent, memberId: string): boolean {
  if (event.type === "snapshot") return event.members.every((m) => m.id === memberId);
  return (event.type === "leave" ? event.memberId : event.member.id) === memberId;
}

/**
 * Check g: groups, elections and locks whose names share prefixes ({@link PREFIX_NAMES}) are
 * independent. Every group has one member of its own; `members()`, views and watches of each never
 * show another group's member, also through a round of updates, leaves and re-joins in every group;
 * one candidate per election is elected at once in each (so no two elections are one), and a lock of
 * each name is free while the election of that name is held. Every call has a deadline: nothing
 * hangs.
 *
 * @throws Error naming the group, election or lock that saw another's members or hung
 */
export async function checkPrefixNames(h: Harness, names: readonly string[] = PREFIX_NAMES): Promise<void> {
  const t = h.eventTimeout;
  const members: Coordinator[] = [];
  for (const [i, group] of names.entries()) {
    const coord = await h.coordinator(randomId(`p${i}`));
    await withDeadline(coord.join(group, { createGroup: true, metadata: { group } }), t, `join ${group}`);
    members.push(coord);
  }
  const own = (i: number) => (members[i] as Coordinator).memberId;
  const viewer = await h.coordinator(randomId("viewer"));
  const watcher = await h.coordinator(randomId("watcher"));

  const listed = async (when: string) => {
    for (const [i, group] of names.entries()) {
      const found = await withDeadline(viewer.members(group), t, `members(${group}) ${when}`);
      if (ids(found) !== `[${own(i)}]`) {
        throw new Error(`members(${group}) ${when} is ${ids(found)}; only [${own(i)}] joined ${group}`);
      }
    }
  };
  await listed("after the joins");

  const views: GroupView[] = [];
  const recorders: EventRecorder[] = [];
  for (const group of names) {
    views.push(await withDeadline(viewer.view(group), t, `view(${group})`));
    const recorder = h.record(watcher, group);
    await recorder.waitFor((e) => e.type === "snapshot", t, `the snapshot of ${group}`);
    recorders.push(recorder);
  }
  const observed = (when: string) => {
    for (const [i, group] of names.entries()) {
      const view = views[i] as GroupView;
      if (ids(view.members()) !== `[${own(i)}]`) {
        throw new Error(
          `the view of ${group} ${when} holds ${ids(view.members())}; only [${own(i)}] is in ${group}`,
        );
      }
      const recorder = recorders[i] as EventRecorder;
      const stray = recorder.events.filter((e) => !about(e, own(i)));
      if (stray.length > 0) {
        throw new Error(
          `the watch of ${group} ${when} reported ${stray.map(summary).join(" | ")}: not members of ${group}`,
        );
      }
    }
  };
  observed("after opening");

  // Churn in every group, in turn; then a last update in each, which its view and watch must show:
  // by then, whatever a leaking watch picked up from the others' churn has arrived before it.
  for (const [i, group] of names.entries()) {
    const coord = members[i] as Coordinator;
    await withDeadline(coord.updateMetadata(group, { group, step: 1 }), t, `update in ${group}`);
    await withDeadline(coord.leave(group), t, `leave ${group}`);
    await withDeadline(coord.join(group, { metadata: { group, step: 2 } }), t, `re-join ${group}`);
  }
  for (const [i, group] of names.entries()) {
    const coord = members[i] as Coordinator;
    await withDeadline(coord.updateMetadata(group, { group, step: 3 }), t, `last update in ${group}`);
  }
  for (const [i, group] of names.entries()) {
    await (recorders[i] as EventRecorder).waitFor(
      (e) => e.type === "update" && e.member.metadata.step === 3,
      t,
      `the last update in ${group}`,
    );
    const view = views[i] as GroupView;
    const start = performance.now();
    while (view.get(own(i))?.metadata.step !== 3) {
      if (performance.now() - start > t) throw new Error(`the view of ${group} never showed its last update`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  observed("after the churn");
  await listed("after the churn");
  for (const view of views) await view.close();

  // Elections and locks: one candidate each, all elected at once; the lock of each name is free while
  // the election of that name is held (a lock is taken by the next member, so no one waits for itself).
  const held: Leadership[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const leadership = await withDeadline(
        (members[i] as Coordinator).election(name).campaign(),
        t,
        `${own(i)} elected in election ${name}, its only candidate (is it sharing an election with another name?)`,
      );
      held.push(leadership);
    }
    for (const [i, name] of names.entries()) {
      const leader = await withDeadline(viewer.leader(name), t, `leader(${name})`);
      if (leader?.id !== own(i)) {
        throw new Error(`leader(${name}) is ${leader?.id ?? "nobody"}; only ${own(i)} campaigned in ${name}`);
      }
    }
    for (const [i, name] of names.entries()) {
      const taker = members[(i + 1) % names.length] as Coordinator;
      const lock = await withDeadline(taker.lock(name).tryAcquire(), t, `tryAcquire() of lock ${name}`);
      if (lock === undefined) {
        throw new Error(
          `lock ${name} is taken, though nobody holds it: it shares a lock or an election with another name`,
        );
      }
      held.push(lock);
    }
  } finally {
    await Promise.allSettled(held.map((l) => withDeadline(l.resign(), t, `resign ${l.name}`)));
  }
}

/** Check g as a vitest suite. */
export function prefixNamesSuite(h: Harness): void {
  describe("names sharing a prefix", () => {
    it(
      "groups, elections and locks named a, ab, a.b, a-b… never see each other",
      () => checkPrefixNames(h),
      h.eventTimeout * 8 + 30_000,
    );
  });
}
