import type { Agent } from "../agents/agent.js";
import { NOT_SUPPORTED } from "../agents/config-protocol.js";
import type { AgentEvent } from "../agents/event-log.js";
import type {
  ReactorSpec,
  ReactorStatusResult,
  ReactorWaitPendingResult,
} from "../agents/reactor-protocol.js";
import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { startMember } from "./participants.js";
import {
  type HandlerStart,
  matchReactions,
  matchTakeovers,
  type Takeover,
  type Trigger,
} from "./reactor-checks.js";
import { addSample, type ScenarioContext, SkippedError } from "./scenario.js";
import { firstEvent, marks } from "./wait-any.js";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The kill part's two reactors on one group: the default options, and no hold at all. */
const KILL_VARIANTS = [
  { id: "default", spec: {} },
  { id: "direct", spec: { brake: false, grace: 0 } },
] as const;

/** The reactors' processes of one part, and the process holding the ballast members and reading the store. */
interface Crew {
  /** Part prefix of every label and member id (member ids must be unique in memory://'s one process). */
  prefix: string;
  group: string;
  observer: Agent;
  /** The observer's coordinator, which is not a member. */
  observerId: string;
  /** The session timeout the backend applied. */
  applied: number;
  specs: ReactorSpec[];
  /** Reactor processes still running. */
  reactors: Agent[];
  /** Reactor processes SIGKILLed: what they reported before still counts. */
  dead: Agent[];
  started: number;
}

function isReactorEvent(type: string, name: string): (e: AgentEvent) => boolean {
  return (e) => e.event === "reactor" && e.type === type && e.name === name;
}

function startOf(name: string, memberId: string): (e: AgentEvent) => boolean {
  return (e) => isReactorEvent("start", name)(e) && e.memberId === memberId;
}

/** How long a handler run may take to appear after its trigger: the hold, then detection, with room. */
function waitMs(crew: Crew, holdMs: number): number {
  return holdMs + 4 * crew.applied + 15_000;
}

/**
 * reactor: `coord.reactor()`, with reactor processes (one acting, one standing by) and member processes,
 * in two parts, each on a group of its own in a fresh namespace; a part that fails is recorded
 * (`<part>.error`) and the other still runs.
 *
 * - kill: member processes are SIGKILLed at random moments (as in detect); two reactors follow the same
 *   group, one with the default options (it holds a departure for half the brake's window, one session
 *   timeout, so a mass failure is seen whole) and one with `brake: false, grace: 0` (detection and dispatch
 *   only). Measured: the kill → the acting reactor's handler entered, and the handler runs per departure.
 * - failover: a member is killed, and once its departure is stored as pending (a grace keeps it pending),
 *   the acting reactor's process is SIGKILLed at a random moment within one session timeout. Measured: that
 *   kill → the standby reports it acts (the takeover: the failover itself), and that kill → its handler
 *   entered for the departure (the new actor first waits out what is left of the departure's grace, so
 *   this is mostly the rest of the grace).
 *
 * Live members in a process never killed (the ballast) keep every round's kills below the brake's fraction.
 */
export async function reactor(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { result } = ctx;
  const url = subject.url(`bench-reactor-${randomId()}`);
  if (subject.backend === "memory")
    result.notes.push(
      "memory:// is in-process: the reactors and members are agents inside the harness's process, and a SIGKILL is the backend's freeze hook (the frozen reactor's session expires, as a killed process's would)",
    );
  const parts: [string, () => Promise<void>][] = [
    ["kill", () => killPart(subject, url, ctx)],
    ["failover", () => failoverPart(subject, url, ctx)],
  ];
  const failures: unknown[] = [];
  for (const [name, run] of parts) {
    try {
      await run();
    } catch (error) {
      const text = message(error);
      const at = text.indexOf(`${NOT_SUPPORTED}: `);
      if (at !== -1) throw new SkippedError(text.slice(at + NOT_SUPPORTED.length + 2));
      result.values[`${name}.error`] = text.split("\n")[0] ?? text;
      result.notes.push(`${name} failed: ${text}`);
      failures.push(error);
    }
  }
  if (failures.length === parts.length) throw failures[0];
}

/** Starts the observer with the ballast members in `group`; the reactors come after (they need the group). */
async function startObserver(
  subject: Subject,
  url: string,
  prefix: string,
  group: string,
  ctx: ScenarioContext,
): Promise<Crew> {
  const { scope, result, settings } = ctx;
  const observerId = `${prefix}-observer`;
  const ballast = Array.from({ length: settings.reactor.ballast }, (_, i) => `${prefix}-ballast-${i + 1}`);
  const observer = await scope.spawn(subject, observerId);
  const connected = await observer.request<{ sessionTimeout: number }>(
    "connect",
    { url, memberIds: [observerId, ...ballast] },
    120_000,
  );
  const applied = connected.sessionTimeout || subject.sessionTimeoutMs;
  result.values.sessionTimeoutMs = applied;
  await observer.request("join", { group, memberIds: ballast }, 120_000);
  return { prefix, group, observer, observerId, applied, specs: [], reactors: [], dead: [], started: 0 };
}

/** Starts one more reactor process running every reactor of the crew's specs; resolves once started. */
async function startReactor(subject: Subject, url: string, crew: Crew, ctx: ScenarioContext): Promise<Agent> {
  const memberId = `${crew.prefix}-reactor-${++crew.started}`;
  const agent = await ctx.scope.spawn(subject, memberId);
  crew.reactors.push(agent);
  await agent.request("connect", { url, memberIds: [memberId] });
  await agent.request("reactorStart", { memberId, group: crew.group, reactors: crew.specs });
  return agent;
}

/** Starts the crew's first reactor process, waits until it acts for every reactor, then the standby. */
async function startReactors(subject: Subject, url: string, crew: Crew, ctx: ScenarioContext): Promise<void> {
  const first = await startReactor(subject, url, crew, ctx);
  await Promise.all(
    crew.specs.map((spec) =>
      first.events.waitFor(
        (e) => isReactorEvent("state", spec.name)(e) && e.state === "acting",
        waitMs(crew, 0),
      ),
    ),
  );
  await startReactor(subject, url, crew, ctx);
}

/** The reactor process acting for `name` now (the last state it reported is acting or braked). */
function actingFor(crew: Crew, name: string): Agent | undefined {
  return crew.reactors.find((agent) => {
    const states = agent.events.filter(isReactorEvent("state", name));
    const last = states[states.length - 1];
    return last?.state === "acting" || last?.state === "braked";
  });
}

/** Every handler run the crew's reactor processes (killed ones included) reported for `name`. */
function startsOf(crew: Crew, name: string): HandlerStart[] {
  return [...crew.reactors, ...crew.dead].flatMap((agent) =>
    agent.events.filter(isReactorEvent("start", name)).map((e) => ({
      reactor: agent.label,
      memberId: String(e.memberId),
      key: String(e.key),
      at: e.at,
    })),
  );
}

/** Every time one of the crew's reactor processes (killed ones included) reported it took over `name`. */
function takeoversOf(crew: Crew, name: string): Takeover[] {
  return [...crew.reactors, ...crew.dead].flatMap((agent) =>
    agent.events
      .filter((e) => isReactorEvent("state", name)(e) && (e.state === "acting" || e.state === "braked"))
      .map((e) => ({ reactor: agent.label, at: e.at })),
  );
}

/** How many times a crew's reactors reported `type` (`failed`, `braked`) for `name`. */
function countOf(crew: Crew, type: string, name: string): number {
  return [...crew.reactors, ...crew.dead].reduce(
    (n, agent) => n + agent.events.filter(isReactorEvent(type, name)).length,
    0,
  );
}

/**
 * Waits until every handler run seen was recorded as handled (a `handled` event with its key), then reads
 * what the reactor still has pending.
 */
async function pendingLeft(crew: Crew, name: string, starts: HandlerStart[]): Promise<number> {
  const keys = [...new Set(starts.map((s) => s.key))];
  await Promise.all(
    keys.map((key) =>
      firstEvent(
        [...crew.reactors, ...crew.dead],
        (e) => isReactorEvent("handled", name)(e) && e.key === key,
        waitMs(crew, 0),
        new Map(),
      ).catch(() => undefined),
    ),
  );
  const status = await crew.observer.request<ReactorStatusResult>("reactorStatus", {
    memberId: crew.observerId,
    name,
  });
  return status.pending.length;
}

async function closeCrew(crew: Crew, ctx: ScenarioContext): Promise<void> {
  // Killed reactors last: memory://'s are frozen, and thawing them lets them notice they were replaced.
  await Promise.all(crew.reactors.map((agent) => ctx.scope.close(agent)));
  await Promise.all(crew.dead.map((agent) => ctx.scope.close(agent)));
  await ctx.scope.close(crew.observer);
}

async function killPart(subject: Subject, url: string, ctx: ScenarioContext): Promise<void> {
  const { result, scope, settings } = ctx;
  const r = settings.reactor;
  const id = randomId();
  const crew = await startObserver(subject, url, "k", `reactor-kill-${id}`, ctx);
  const names = Object.fromEntries(KILL_VARIANTS.map((v) => [v.id, `kill-${v.id}-${id}`])) as Record<
    (typeof KILL_VARIANTS)[number]["id"],
    string
  >;
  crew.specs = KILL_VARIANTS.map((v) => ({ name: names[v.id], ...v.spec }));
  // The default brake's window is twice the session timeout: a departure is held for half of it.
  const holdMs = crew.applied;
  try {
    ctx.step("kill: starting the reactor processes (one acting, one standing by)");
    await startReactors(subject, url, crew, ctx);
    const triggers: Trigger[] = [];
    let next = 0;
    for (let round = 0; round < r.rounds; round++) {
      ctx.step(`kill: round ${round + 1}/${r.rounds}: ${r.membersPerRound} members`);
      const ids = Array.from({ length: r.membersPerRound }, () => `k-member-${++next}`);
      const members = await Promise.all(
        ids.map((memberId) => startMember(scope, subject, url, crew.group, memberId)),
      );
      await crew.observer.request(
        "reactorKnown",
        {
          memberId: crew.observerId,
          names: Object.values(names),
          memberIds: ids,
          timeoutMs: waitMs(crew, 0),
        },
        waitMs(crew, 0) + 10_000,
      );
      await sleep(r.settleMs);
      await Promise.all(
        members.map(async (agent, i) => {
          const memberId = ids[i] as string;
          await sleep(Math.random() * crew.applied);
          const from = marks(crew.reactors);
          const killedAt = await agent.kill();
          triggers.push({ memberId, at: killedAt });
          await Promise.all(
            KILL_VARIANTS.map((v) =>
              firstEvent(
                crew.reactors,
                startOf(names[v.id], memberId),
                waitMs(crew, v.id === "default" ? holdMs : 0),
                from,
              ).catch(() => undefined),
            ),
          );
        }),
      );
      await Promise.all(members.map((agent) => scope.close(agent)));
    }
    result.values["kill.kills"] = triggers.length;
    result.values["kill.holdMs"] = holdMs;
    result.values["kill.ballast"] = r.ballast;
    for (const v of KILL_VARIANTS) {
      const name = names[v.id];
      const starts = startsOf(crew, name);
      const match = matchReactions(triggers, starts);
      const metric = v.id === "default" ? "killDefault" : "killDirect";
      for (const ms of match.delays) {
        if (ms === undefined) continue;
        addSample(result, `${metric}Ms`, ms);
        addSample(result, `${metric}Ratio`, ms / crew.applied);
      }
      const prefix = `kill.${v.id}`;
      Object.assign(result.values, {
        [`${prefix}.missing`]: match.missing,
        [`${prefix}.minRuns`]: Math.min(...match.runs),
        [`${prefix}.maxRuns`]: Math.max(...match.runs),
        [`${prefix}.repeated`]: match.repeated,
        [`${prefix}.stray`]: match.stray,
        [`${prefix}.failed`]: countOf(crew, "failed", name),
        [`${prefix}.braked`]: countOf(crew, "braked", name) > 0,
        [`${prefix}.pendingLeft`]: await pendingLeft(crew, name, starts),
      });
      if (match.missing > 0)
        result.notes.push(`kill (${v.id}): no handler run for ${match.missing} of ${triggers.length} kills`);
      if (match.repeated > 0)
        result.notes.push(`kill (${v.id}): **${match.repeated} departures were run more than once**`);
      if (result.values[`${prefix}.braked`] === true)
        result.notes.push(`kill (${v.id}): the mass-failure brake engaged`);
    }
  } finally {
    await closeCrew(crew, ctx);
  }
}

async function failoverPart(subject: Subject, url: string, ctx: ScenarioContext): Promise<void> {
  const { result, scope, settings } = ctx;
  const r = settings.reactor;
  const id = randomId();
  const crew = await startObserver(subject, url, "f", `reactor-failover-${id}`, ctx);
  const name = `failover-${id}`;
  const grace = Math.round(r.graceRatio * crew.applied);
  crew.specs = [{ name, grace }];
  try {
    ctx.step("failover: starting the reactor processes (one acting, one standing by)");
    await startReactors(subject, url, crew, ctx);
    const triggers: Trigger[] = [];
    /** Per trial: when its member was SIGKILLed (its departure cannot be due before that + the grace). */
    const memberKills: number[] = [];
    for (let trial = 0; trial < r.failovers; trial++) {
      ctx.step(`failover ${trial + 1}/${r.failovers}`);
      const memberId = `f-member-${trial + 1}`;
      const member = await startMember(scope, subject, url, crew.group, memberId);
      await crew.observer.request(
        "reactorKnown",
        { memberId: crew.observerId, names: [name], memberIds: [memberId], timeoutMs: waitMs(crew, 0) },
        waitMs(crew, 0) + 10_000,
      );
      await sleep(r.settleMs + Math.random() * crew.applied);
      const memberKilledAt = await member.kill();
      memberKills.push(memberKilledAt);
      const pending = await crew.observer.request<ReactorWaitPendingResult>(
        "reactorWaitPending",
        { memberId: crew.observerId, name, target: memberId, timeoutMs: waitMs(crew, 0), intervalMs: 25 },
        waitMs(crew, 0) + 10_000,
      );
      addSample(result, "pendingSeenMs", pending.at - memberKilledAt);
      // At a random moment of the acting reactor's keep-alive, as the members' kills: its own write of the
      // pending record must not set the phase. The grace (≥ 2 timeouts) keeps the departure pending meanwhile.
      await sleep(Math.random() * crew.applied);
      const acting = actingFor(crew, name);
      if (!acting) throw new Error(`no reactor process reports acting for ${name}`);
      crew.reactors.splice(crew.reactors.indexOf(acting), 1);
      const from = marks(crew.reactors);
      const killedAt = await acting.kill();
      crew.dead.push(acting);
      triggers.push({ memberId, at: killedAt, killedReactor: acting.label });
      const run = await firstEvent(crew.reactors, startOf(name, memberId), waitMs(crew, grace), from).catch(
        () => undefined,
      );
      if (run)
        await run.agent.events
          .waitFor((e) => isReactorEvent("handled", name)(e) && e.key === run.event.key, waitMs(crew, 0))
          .catch(() => undefined);
      await scope.close(member);
      // Two reactor processes again: the new actor, and a new standby.
      if (trial < r.failovers - 1) await startReactor(subject, url, crew, ctx);
    }
    const takeover = matchTakeovers(triggers, takeoversOf(crew, name));
    for (const ms of takeover.delays) {
      if (ms === undefined) continue;
      addSample(result, "takeoverMs", ms);
      addSample(result, "takeoverRatio", ms / crew.applied);
    }
    const starts = startsOf(crew, name);
    const match = matchReactions(triggers, starts);
    // The kill → the new actor's handler: the takeover, then what was left of the departure's grace.
    for (const ms of match.delays) {
      if (ms === undefined) continue;
      addSample(result, "failoverHandlerMs", ms);
      addSample(result, "failoverHandlerRatio", ms / crew.applied);
    }
    // A run sooner than the grace after its member's kill did not wait the grace out (it departed later still).
    const beforeGrace = match.delays.filter((ms, i) => {
      const trigger = triggers[i];
      const memberKilledAt = memberKills[i];
      if (ms === undefined || trigger === undefined || memberKilledAt === undefined) return false;
      return trigger.at + ms - memberKilledAt < grace;
    }).length;
    Object.assign(result.values, {
      "failover.trials": triggers.length,
      "failover.graceMs": grace,
      "failover.noTakeover": takeover.missing,
      "failover.beforeGrace": beforeGrace,
      "failover.missing": match.missing,
      "failover.minRuns": Math.min(...match.runs),
      "failover.maxRuns": Math.max(...match.runs),
      "failover.repeated": match.repeated,
      "failover.byKilled": match.byKilled,
      "failover.stray": match.stray,
      "failover.failed": countOf(crew, "failed", name),
      "failover.braked": countOf(crew, "braked", name) > 0,
      "failover.pendingLeft": await pendingLeft(crew, name, starts),
    });
    if (takeover.missing > 0)
      result.notes.push(
        `failover: no reactor process reported it took over after ${takeover.missing} of ${triggers.length} kills of the acting one`,
      );
    if (beforeGrace > 0)
      result.notes.push(
        `failover: **${beforeGrace} of ${triggers.length} departures were run before their grace was over** (a failover must not hurry a pending departure)`,
      );
    if (match.missing > 0)
      result.notes.push(
        `failover: the standby never ran ${match.missing} of ${triggers.length} pending departures`,
      );
    if (match.byKilled > 0)
      result.notes.push(
        `failover: in ${match.byKilled} trials the killed reactor had already started the handler (the grace was too short)`,
      );
  } finally {
    await closeCrew(crew, ctx);
  }
}
