import type { LabHost } from "@rollcall/servers";
import type { Agent } from "../agents/agent.js";
import type { AgentEvent } from "../agents/event-log.js";
import { now, randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { startCandidate, startMember, startWatcher, watchEvent } from "./participants.js";
import { type CutSamples, leaderCutSamples, memberCutSamples } from "./partition-samples.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/** A member's own report of a session state. */
function sessionState(state: string): (event: AgentEvent) => boolean {
  return (e) => e.event === "session" && e.state === state;
}

/**
 * When the agent reports a matching event (from index `from` on) within `timeoutMs`, or undefined when it
 * does not; rejects only when the agent is gone.
 */
async function seenAt(
  agent: Agent,
  predicate: (event: AgentEvent) => boolean,
  timeoutMs: number,
  from: number,
): Promise<number | undefined> {
  try {
    return (await agent.events.waitFor(predicate, timeoutMs, from)).at;
  } catch (error) {
    if (/no matching event within/.test((error as Error).message)) return undefined;
    throw error;
  }
}

function record(ctx: ScenarioContext, cut: CutSamples): void {
  for (const [metric, value] of Object.entries(cut.samples)) addSample(ctx.result, metric, value);
  for (const counter of cut.counts) ctx.result.values[counter] = Number(ctx.result.values[counter] ?? 0) + 1;
  ctx.result.values.cuts = Number(ctx.result.values.cuts ?? 0) + 1;
}

/** A new host of the run's network lab, for its cut-off participant. */
async function labHost(ctx: ScenarioContext, label: string): Promise<LabHost> {
  const lab = ctx.lab;
  if (!lab) throw new Error("the partition scenario runs in a network lab, and none was made");
  const host = await lab.addHost(label);
  ctx.result.settings.server = `${lab.gateway} (lab bridge)`;
  ctx.result.settings.labHost = host.address;
  return host;
}

/**
 * Cuts the host's link, waits until `waits` resolves (each wait bounded from the cut), then heals — also
 * when a wait failed. Resolves with the cut and heal moments and what the waits saw.
 */
async function cutWhile<T>(
  host: LabHost,
  waits: () => Promise<T>,
): Promise<{ cutAt: number; healAt: number; seen: T }> {
  const cutAt = now();
  await host.cut();
  const outcome = await waits().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const healAt = now();
  await host.heal();
  if ("error" in outcome) throw outcome.error;
  return { cutAt, healAt, seen: outcome.value };
}

/**
 * partition (member): a member process in a network lab host joins a group a watcher in the root namespace
 * watches; its host's link is cut. Measured from the cut: the watcher seeing the leave, the member's own
 * session reports (`suspended`, `expired`); then from the heal, the watcher seeing it join again.
 */
export async function partitionMember(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const host = await labHost(ctx, "partition-member");
  const url = subject.url(`bench-partition-${randomId()}`);
  const group = `partition-${randomId()}`;
  const { watcher, applied } = await startWatcher(scope, subject, url, group, result);
  const holdMs = settings.partition.holdRatio * applied;
  result.settings.holdMs = holdMs;
  const repetitions = settings.partition.repetitions;
  for (let rep = 0; rep < repetitions; rep++) {
    ctx.step(`cut ${rep + 1}/${repetitions}`);
    const memberId = `member-${rep + 1}`;
    const joinedMark = watcher.events.length;
    const member = await startMember(scope, subject, url, group, memberId, host);
    await watcher.events.waitFor(watchEvent("join", memberId), 30_000, joinedMark);
    await sleep(settings.partition.settleMs + Math.random() * applied);
    const watcherMark = watcher.events.length;
    const memberMark = member.events.length;
    const { cutAt, healAt, seen } = await cutWhile(host, () =>
      Promise.all([
        seenAt(watcher, watchEvent("leave", memberId), holdMs, watcherMark),
        seenAt(member, sessionState("suspended"), holdMs, memberMark),
        seenAt(member, sessionState("expired"), holdMs, memberMark),
      ]),
    );
    const [leaveAt, suspendedAt] = seen;
    // Gone at the watcher means its session expired at the server: the healed member re-opens one and
    // re-joins (a member whose client learns of the expiry only now reports `expired` after the heal).
    const rejoinAt =
      leaveAt === undefined
        ? undefined
        : await seenAt(watcher, watchEvent("join", memberId), 4 * applied + 15_000, watcherMark);
    const expiredAt = member.events.filter(sessionState("expired"), memberMark)[0]?.at;
    record(ctx, memberCutSamples({ cutAt, healAt, leaveAt, suspendedAt, expiredAt, rejoinAt }, applied));
    await scope.close(member);
  }
}

/**
 * partition (leader): a leader in a network lab host and a candidate in the root namespace campaign in one
 * election; the leader's host is cut. Measured from the cut: the old leader's leadership signal aborting
 * (its own report) and the candidate being elected, and the gap between the two.
 */
export async function partitionLeader(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const host = await labHost(ctx, "partition-leader");
  const url = subject.url(`bench-partition-${randomId()}`);
  const applied0 = subject.sessionTimeoutMs;
  const repetitions = settings.partition.leaderRepetitions;
  for (let rep = 0; rep < repetitions; rep++) {
    ctx.step(`cut leader ${rep + 1}/${repetitions}`);
    const election = `partition-${randomId()}`;
    const leader = await startCandidate(scope, subject, url, `leader-${rep + 1}`, election, result, host);
    await leader.events.waitFor((e) => e.event === "elected", 30_000);
    const candidate = await startCandidate(scope, subject, url, `candidate-${rep + 1}`, election, result);
    const applied = Number(result.values.sessionTimeoutMs ?? applied0);
    const holdMs = settings.partition.holdRatio * applied;
    result.settings.holdMs = holdMs;
    await sleep(settings.partition.settleMs + Math.random() * applied);
    const leaderMark = leader.events.length;
    const candidateMark = candidate.events.length;
    const { cutAt, healAt, seen } = await cutWhile(host, () =>
      Promise.all([
        seenAt(leader, (e) => e.event === "deposed", holdMs, leaderMark),
        seenAt(candidate, (e) => e.event === "elected", holdMs, candidateMark),
      ]),
    );
    const [abortedAt, electedAt] = seen;
    record(ctx, leaderCutSamples({ cutAt, healAt, abortedAt, electedAt }, applied));
    await Promise.all([scope.close(leader), scope.close(candidate)]);
  }
}
