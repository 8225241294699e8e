import type { Timed } from "../agents/agent.js";
import { randomId, randomInt, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/**
 * notify: a member in one process joins, updates its metadata and leaves; a watcher in another process
 * reports each event. Latency = the watcher's receipt − the moment the member called the operation.
 */
export async function notify(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const url = subject.url(`bench-notify-${randomId()}`);
  const group = `notify-${randomId()}`;
  const waitMs = 3 * subject.sessionTimeoutMs + 10_000;
  const [watcher, member] = await Promise.all([
    scope.spawn(subject, "watcher"),
    scope.spawn(subject, "member"),
  ]);
  await watcher.request("connect", { url, memberIds: ["watcher"], sessionTimeout: subject.sessionTimeoutMs });
  await watcher.request("watch", { memberId: "watcher", group });
  await member.request("connect", { url, memberIds: ["member-1"], sessionTimeout: subject.sessionTimeoutMs });
  const update = subject.unsupported.update === undefined;
  // Pauses spread each change uniformly over a polling watcher's interval.
  const maxGap = Math.max(settings.notify.maxGapMs, subject.pollIntervalMs ?? 0);
  result.settings.maxPauseMs = maxGap;
  if (!update) result.notes.push(`update: ${subject.unsupported.update}`);
  const is = (type: string) => (e: { event: string; type?: unknown; memberId?: unknown }) =>
    e.event === "watch" && e.type === type && e.memberId === "member-1";
  for (let i = 0; i < settings.notify.repetitions; i++) {
    if (i % 10 === 0) ctx.step(`repetition ${i + 1}/${settings.notify.repetitions}`);
    let mark = watcher.events.length;
    const joined = await member.request<Timed>("join", { group, memberIds: ["member-1"], metadata: { i } });
    const joinEvent = await watcher.events.waitFor(is("join"), waitMs, mark);
    addSample(result, "joinMs", joinEvent.at - joined.startedAt);
    addSample(result, "joinCallMs", joined.endedAt - joined.startedAt);
    if (update) {
      await sleep(randomInt(maxGap));
      mark = watcher.events.length;
      const updated = await member.request<Timed>("update", {
        memberId: "member-1",
        group,
        metadata: { i, v: 2 },
      });
      const updateEvent = await watcher.events.waitFor(is("update"), waitMs, mark);
      addSample(result, "updateMs", updateEvent.at - updated.startedAt);
    }
    await sleep(randomInt(maxGap));
    mark = watcher.events.length;
    const left = await member.request<Timed>("leave", { memberId: "member-1", group });
    const leaveEvent = await watcher.events.waitFor(is("leave"), waitMs, mark);
    addSample(result, "leaveMs", leaveEvent.at - left.startedAt);
    await sleep(randomInt(maxGap));
  }
}
