import { setTimeout as sleep } from "node:timers/promises";
import type { Coordinator, Member } from "@rollcall/core";
import type { LabHost } from "@rollcall/servers";
import { describe, it, type TestContext } from "vitest";
import { type Harness, randomId } from "../harness.js";
import type { ChildMessage } from "../message-log.js";
import type { SessionControl } from "../options.js";
import {
  ChildStallMember,
  LocalStallMember,
  type ReportedEvent,
  type ReportedMember,
  type StallParticipant,
  type StallScript,
} from "../stall-member.js";

/**
 * How a check cuts one participant off, or stalls the server under everyone: the kit's fault hooks, one
 * shape for every backend.
 */
export interface StallMethod {
  /** What the stall is, for test names and failure messages. */
  readonly name: string;
  /**
   * Whether it stalls the server for every client (an SQLite file's write lock): then nobody can change
   * anything meanwhile, and a successor is stalled too.
   */
  readonly global: boolean;
  /** The network-lab host the participant to be stalled must run in, when the stall is a link cut. */
  place?(): Promise<LabHost>;
  /** Stalls `participant` (or its server) and resolves once the stall is in effect, with how to end it. */
  begin(participant: StallParticipant): Promise<() => Promise<void>>;
}

/** The participant's process is stopped: SIGSTOP / SIGCONT, or `sessionControl.freeze` / `thaw` in-process. */
export function frozen(): StallMethod {
  return {
    name: "frozen (SIGSTOP)",
    global: false,
    begin: async (participant) => {
      participant.freeze();
      return async () => participant.thaw();
    },
  };
}

/** The participant's client is cut off from the server in-process: `sessionControl.disconnect` / `reconnect`. */
export function disconnected(control: SessionControl): StallMethod {
  if (!control.disconnect || !control.reconnect)
    throw new Error("sessionControl has no disconnect() and reconnect()");
  return {
    name: "disconnected (sessionControl.disconnect)",
    global: false,
    begin: async (participant) => {
      control.disconnect?.(participant.memberId);
      return async () => control.reconnect?.(participant.memberId);
    },
  };
}

/** The whole server stalls (`target.stall()`, e.g. an SQLite file whose write lock another process holds). */
export function serverStall(h: Harness): StallMethod {
  return {
    name: "server stalled (target.stall)",
    global: true,
    begin: async () => {
      const target = h.target;
      if (!target?.stall)
        throw new Error(
          `${h.options.name}: runConformance() was given stall: true but setup()'s target has no stall()`,
        );
      const stalled = await target.stall();
      return async () => {
        await stalled.end();
      };
    },
  };
}

/** The link of the participant's network-lab host goes down (`LabHost.cut` / `heal`): a real partition. */
export function linkCut(place: () => Promise<LabHost>): StallMethod {
  return {
    name: "link cut (network lab)",
    global: false,
    place,
    begin: async (participant) => {
      const host = participant.host;
      if (!host) throw new Error(`a link cut needs ${participant.memberId} to run in a lab host`);
      await host.cut();
      return () => host.heal();
    },
  };
}

/** Runs `body` with participants it creates through `spawn`; every one is disposed of afterwards. */
async function withParticipants<T>(
  h: Harness,
  body: (spawn: (prefix: string, script: StallScript, host?: LabHost) => StallParticipant) => Promise<T>,
): Promise<T> {
  const all: StallParticipant[] = [];
  const spawn = (prefix: string, script: StallScript, host?: LabHost): StallParticipant => {
    const memberId = randomId(prefix);
    let participant: StallParticipant;
    if (h.characteristics.scope === "process") {
      const control = h.options.sessionControl;
      if (!control)
        throw new Error(
          `${h.options.name} has scope "process" but runConformance() was given no sessionControl`,
        );
      participant = new LocalStallMember(h.url(), memberId, script, control);
    } else {
      participant = new ChildStallMember(
        { url: h.url(), memberId, modules: h.options.modules ?? [], script },
        host,
      );
    }
    all.push(participant);
    return participant;
  };
  try {
    return await body(spawn);
  } finally {
    await Promise.allSettled(all.map((p) => p.dispose()));
  }
}

/** The session timeout the participant's coordinator applies (from its `ready` message). */
async function readyTimeout(participant: StallParticipant, timeout: number): Promise<number> {
  return Number((await participant.ready(timeout)).sessionTimeout);
}

// ---- a. a watcher cut off for less than its timeout ---------------------------------------------------

/** JSON with sorted keys, so metadata compares equal whatever order a backend stores its keys in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function fingerprint(member: ReportedMember | Member): string {
  return `seq ${String(member.seq)} ${canonical(member.metadata)}`;
}

/**
 * The group a watcher's events add up to (member id → seq and metadata), and every event that does not
 * fit the state before it (a join of a member already there, an update or leave of one that is not).
 */
function replay(messages: readonly ChildMessage[]): { state: Map<string, string>; problems: string[] } {
  const state = new Map<string, string>();
  const problems: string[] = [];
  for (const message of messages) {
    if (message.type !== "watch") continue;
    const event = message.event as ReportedEvent;
    if (event.type === "snapshot") {
      state.clear();
      for (const m of event.members ?? []) state.set(m.id, fingerprint(m));
    } else if (event.type === "leave") {
      const id = String(event.memberId);
      if (!state.delete(id)) problems.push(`a leave of ${id}, who was not a member`);
    } else if (event.member) {
      const { id } = event.member;
      if (event.type === "join" && state.has(id)) problems.push(`a join of ${id}, who was already a member`);
      if (event.type === "update" && !state.has(id))
        problems.push(`an update of ${id}, who was not a member`);
      state.set(id, fingerprint(event.member));
    }
  }
  return { state, problems };
}

function sameState(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([id, value]) => b.get(id) === value);
}

function difference(got: Map<string, string>, want: Map<string, string>): string {
  const lines: string[] = [];
  for (const [id, value] of want) {
    const seen = got.get(id);
    if (seen === undefined) lines.push(`${id} missing (members() has ${value})`);
    else if (seen !== value) lines.push(`${id} is ${seen} (members() has ${value})`);
  }
  for (const [id, value] of got) if (!want.has(id)) lines.push(`${id} (${value}) is not in members()`);
  return lines.join("; ");
}

function eventSummary(message: ChildMessage): string {
  const event = message.event as ReportedEvent;
  if (event.type === "snapshot") return `snapshot[${(event.members ?? []).map((m) => m.id).join(",")}]`;
  if (event.type === "leave") return `leave ${event.memberId}`;
  return `${event.type} ${event.member?.id} ${canonical(event.member?.metadata)}`;
}

/** Waits until the watcher's events add up exactly to `expected`; throws with the difference if not. */
async function addsUp(
  watcher: StallParticipant,
  expected: readonly Member[],
  timeout: number,
  what: string,
): Promise<void> {
  const want = new Map(expected.map((m) => [m.id, fingerprint(m)]));
  try {
    await watcher.waitFor(() => sameState(replay(watcher.messages).state, want), timeout, what);
  } catch (error) {
    const { state } = replay(watcher.messages);
    const events = watcher.messages.filter((m) => m.type === "watch").map(eventSummary);
    throw new Error(
      `${what}: within ${timeout} ms the watcher's events did not add up to members(): ${difference(state, want) || String(error)}; its events: ${events.join(" | ")}`,
    );
  }
  const { problems } = replay(watcher.messages);
  if (problems.length > 0)
    throw new Error(`${what}: the watcher's events contradict each other: ${problems.join("; ")}`);
  const errors = watcher.messages.filter((m) => m.type === "watch-error");
  if (errors.length > 0) throw new Error(`${what}: the watch failed: ${String(errors[0]?.message)}`);
}

/**
 * Check a: a watcher cut off (by `cut`) for a quarter of its session timeout — well inside it, so its
 * session survives — while other members leave, update, join, and join and leave again. Once it is back,
 * its events (or a resync snapshot) must add up exactly to `members()` read by another coordinator: the
 * same ids, seqs and metadata, with no event contradicting the state before it; and it must still follow
 * a change made afterwards. Throws an Error describing the first violation.
 */
export async function checkWatchAcrossShortCut(h: Harness, cut: StallMethod): Promise<void> {
  if (cut.global) throw new Error(`check a cuts off a watcher alone, but ${cut.name} stops every writer`);
  await withParticipants(h, async (spawn) => {
    const admin = await h.coordinator();
    const group = randomId("g");
    await admin.createGroup(group);
    const member = async (prefix: string, v: number): Promise<Coordinator> => {
      const coord = await h.coordinator(randomId(prefix));
      await coord.join(group, { metadata: { v } });
      return coord;
    };
    const a = await member("a", 1);
    const b = await member("b", 1);
    const c = await member("c", 1);
    const watcher = spawn("w", { watch: group }, await cut.place?.());
    const sessionTimeout = await readyTimeout(watcher, h.eventTimeout * 2);
    await addsUp(watcher, await admin.members(group), h.eventTimeout, "the watcher's first snapshot");
    // A quarter of the timeout: the last renewal before the cut was at most a third of it earlier, so the
    // session survives with room to spare — this is the resume path, not the resync after an expiry.
    const hold = sessionTimeout / 4;
    const end = await cut.begin(watcher);
    const cutAt = performance.now();
    try {
      await a.leave(group);
      await b.updateMetadata(group, { v: 2 });
      const d = await member("d", 4);
      const e = await member("e", 5);
      await e.leave(group);
      await c.updateMetadata(group, { v: 3 });
      await d.updateMetadata(group, { v: 44 });
      const left = cutAt + hold - performance.now();
      if (left > 0) await sleep(left);
    } finally {
      await end();
    }
    const cutFor = Math.round(performance.now() - cutAt);
    const expired = watcher.sessionStates().includes("expired") ? " (its session expired meanwhile)" : "";
    await addsUp(
      watcher,
      await admin.members(group),
      h.eventTimeout + sessionTimeout,
      `a watcher ${cut.name} for ${cutFor} ms of its ${sessionTimeout} ms session${expired}`,
    );
    await member("f", 6);
    await addsUp(watcher, await admin.members(group), h.eventTimeout, "a join after the watcher came back");
  });
}

// ---- b. driver-reported suspension --------------------------------------------------------------------

/**
 * Allowance on top of two renewal intervals for timers and process scheduling on a loaded 2-core machine.
 * See {@link checkReportedSuspension} for the bound it is part of.
 */
export const SUSPENSION_SLACK = 250;

/** How long this process waits past a bound for messages still in transit (judged by their own timestamps). */
const TRANSIT = 1000;

const isDriverState = (state: string) => (m: ChildMessage) =>
  m.type === "driver" && m.report === "state" && m.state === state;

/**
 * Check b: a leader whose server stops answering while its process keeps running (`stall`) must be told
 * so by its *driver* — a `suspended` report on the driver's session listener — and its leadership's
 * signal must abort then, with `isValid()` false. Throws an Error describing the first violation.
 *
 * The bound, and why it is two parts:
 * - **Within `2 × sessionTimeout / 3 + 250 ms` of the stall's start.** The contract sends a renewal at least
 *   every third of the timeout, so the first one the stalled server cannot answer leaves within T/3; a
 *   driver needs up to one more renewal interval to call it unanswered (the ZooKeeper driver decides on
 *   its next tick; core's `TtlSession`, under Redis, SQL and etcd, after a quarter of the timeout) — 2T/3 — plus
 *   {@link SUSPENSION_SLACK} for timers on a loaded machine.
 * - **Before core's own fallback.** Core suspends a session by itself ¾T after the last *acknowledged*
 *   renewal was sent, which is anywhere from 0.42T to 0.75T after the stall's start depending on where
 *   the stall falls between renewals — so no bound measured from the stall can tell a driver from the
 *   fallback on every run. The order can: the kit sees the driver's reports on its listener before core
 *   does (see `observedUrl`), and the driver's `suspended` must come before the coordinator's `suspended`
 *   state, not after it. A driver that never reports suspension, or only after the fallback (a request
 *   timeout longer than the time left), fails on every run, whatever the phase; the check does not
 *   depend on a margin of a few ms either (a driver whose check falls due before the fallback's timer
 *   runs first even when the event loop is late).
 */
export async function checkReportedSuspension(h: Harness, stall: StallMethod): Promise<void> {
  await withParticipants(h, async (spawn) => {
    const leader = spawn("lead", { campaign: randomId("e") }, await stall.place?.());
    const sessionTimeout = await readyTimeout(leader, h.eventTimeout * 2);
    const elected = await leader.waitFor((m) => m.type === "elected", h.eventTimeout * 2, "elected");
    await leader.waitFor(
      (m) => m.type === "driver" && m.report === "renewed" && m.at > elected.at,
      sessionTimeout + h.eventTimeout,
      "a renewal reported by the driver after the election",
    );
    const bound = Math.round((2 * sessionTimeout) / 3) + SUSPENSION_SLACK;
    const before = Date.now();
    const end = await stall.begin(leader);
    const stalledAt = Date.now();
    const since = (m: ChildMessage) => m.at >= before;
    const isReport = (m: ChildMessage) => since(m) && isDriverState("suspended")(m);
    const isSession = (m: ChildMessage) => since(m) && m.type === "session" && m.state === "suspended";
    try {
      // Core's fallback does not end the wait: a late report is told apart from none at all.
      await leader.waitFor(isReport, bound + TRANSIT, "suspended").catch(() => undefined);
    } finally {
      await end();
    }
    const report = leader.messages.find(isReport);
    const session = leader.messages.find(isSession);
    const at = (m: ChildMessage) => `${m.at - stalledAt} ms`;
    const what = `${stall.name}, session timeout ${sessionTimeout} ms`;
    if (!report) {
      // A process that could not run at all could not report anything: say so (a client that waits for the
      // server synchronously blocks the thread that would notice; it reports that once it runs again).
      await leader
        .waitFor((m) => m.type === "blocked" && m.at >= before, TRANSIT, "blocked")
        .catch(() => undefined);
      const blocked = leader.messages
        .filter((m) => m.type === "blocked" && m.at >= before)
        .map((m) => `${Number(m.ms)} ms until ${at(m)}`);
      const why = blocked.length > 0 ? `; its event loop was blocked meanwhile (${blocked.join(", ")})` : "";
      throw new Error(
        session
          ? `the driver did not report suspended within ${bound + TRANSIT} ms of the stall (${what}): only core's validity fallback suspended the session, ${at(session)} after the stall began${why}`
          : `neither the driver nor core suspended the session within ${bound + TRANSIT} ms of the stall (${what})${why}`,
      );
    }
    if (session && leader.messages.indexOf(session) < leader.messages.indexOf(report)) {
      throw new Error(
        `the driver reported suspended ${at(report)} after the stall began, but core's validity fallback had suspended the session already, at ${at(session)} (${what}): the report comes too late to protect a leader`,
      );
    }
    if (report.at - stalledAt > bound) {
      throw new Error(
        `the driver reported suspended ${at(report)} after the stall began (${what}); the bound is ${bound} ms: two renewal intervals plus ${SUSPENSION_SLACK} ms`,
      );
    }
    const deposed = await leader
      .waitFor((m) => m.type === "deposed" && m.token === elected.token, h.eventTimeout, "deposed")
      .catch(() => undefined);
    if (!deposed || deposed.at > report.at + TRANSIT)
      throw new Error(`the leader's signal did not abort when its driver reported suspended (${what})`);
    if (deposed.valid !== false || Number(deposed.endedAt) > report.at + 20) {
      throw new Error(
        `the leadership ended at ${Number(deposed.endedAt) - stalledAt} ms (isValid() ${String(deposed.valid)} at the abort), not when the driver reported suspended at ${at(report)} (${what})`,
      );
    }
  });
}

// ---- c. renewals that were never answered -------------------------------------------------------------

/**
 * Check c: a leader is stalled (`stall`) until its session is gone on the server, and a second candidate
 * — on a coordinator that is not stalled, where the stall allows that — takes over; the stall then lasts
 * half a timeout more. (A stall of the whole server lasts 1.5 timeouts, and whoever is elected first
 * after it is the next leader.) The old leader's validity must have ended (its signal aborted, or its
 * validity deadline passed: whichever was first) no later than the moment the next leadership began; and
 * its driver must not report a renewal for a request it sent after the stall began, while the stall
 * lasted (the server could not have acknowledged it). A driver that reports renewals the server never
 * acknowledged keeps its leader valid past the successor's election and fails both. Throws an Error
 * describing the violations.
 */
export async function checkNoUnansweredRenewal(h: Harness, stall: StallMethod): Promise<void> {
  await withParticipants(h, async (spawn) => {
    const election = randomId("e");
    const leader = spawn("lead", { campaign: election }, await stall.place?.());
    const sessionTimeout = await readyTimeout(leader, h.eventTimeout * 2);
    const first = await leader.waitFor((m) => m.type === "elected", h.eventTimeout * 2, "the leader elected");
    const successor = spawn("next", { campaign: election });
    await successor.waitFor((m) => m.type === "campaigning", h.eventTimeout * 2, "the successor campaigning");
    const before = Date.now();
    const end = await stall.begin(leader);
    const stalledAt = Date.now();
    let liftedAt: number;
    try {
      if (stall.global) {
        // Nobody can be elected while the server is stalled: hold it until the leader's session must have
        // passed its deadline on the server (its last renewal was sent before the stall), and a half more.
        await sleep(Math.round(sessionTimeout * 1.5));
      } else {
        await successor.waitFor(
          (m) => m.type === "elected",
          h.detectionBound + h.eventTimeout,
          `the successor elected while the leader is ${stall.name}`,
        );
        // Still stalled for half a timeout more: a leader that wrongly believes itself valid shows it by
        // a clear margin, not by a millisecond that depends on when the clock ticks.
        await sleep(Math.round(sessionTimeout / 2));
      }
    } finally {
      liftedAt = Date.now();
      await end();
    }
    const isNext = (m: ChildMessage) => m.type === "elected" && m.token !== first.token && m.at >= before;
    await Promise.any(
      [leader, successor].map((p) =>
        p.waitFor(isNext, h.eventTimeout + h.detectionBound * 2, "the next leadership"),
      ),
    ).catch(() => {
      throw new Error(`nobody was elected after the leader was ${stall.name} past its session timeout`);
    });
    const next = [
      ...leader.messages.filter(isNext).map((m) => ({ m, who: leader.memberId })),
      ...successor.messages.filter(isNext).map((m) => ({ m, who: successor.memberId })),
    ].sort((x, y) => Number(x.m.electedAt) - Number(y.m.electedAt))[0] as { m: ChildMessage; who: string };
    const nextAt = Number(next.m.electedAt);
    const deposed = await leader
      .waitFor(
        (m) => m.type === "deposed" && m.token === first.token,
        h.eventTimeout + sessionTimeout * 2,
        "the old leadership's end",
      )
      .catch(() => undefined);
    const violations: string[] = [];
    const rel = (t: number) => `${Math.round(t - stalledAt)} ms`;
    if (!deposed) {
      violations.push(
        `the stalled leader (token ${first.token}) still holds its leadership ${Date.now() - nextAt} ms after ${next.who} was elected (token ${next.m.token})`,
      );
    } else if (Number(deposed.endedAt) > nextAt) {
      violations.push(
        `the stalled leader's validity ended at ${rel(Number(deposed.endedAt))} after the stall began, ${Math.round(Number(deposed.endedAt) - nextAt)} ms after ${next.who} was elected at ${rel(nextAt)} (token ${next.m.token})`,
      );
    }
    // A renewal sent after the stall began and reported before it ended was never acknowledged.
    const unanswered = leader.messages.filter(
      (m) =>
        m.type === "driver" && m.report === "renewed" && Number(m.sentAt) > stalledAt + 2 && m.at < liftedAt,
    );
    if (unanswered.length > 0) {
      violations.push(
        `its driver reported ${unanswered.length} renewal(s) the stalled server could not have acknowledged (sent at ${unanswered.map((m) => rel(Number(m.sentAt))).join(", ")} after the stall began, which lasted ${liftedAt - stalledAt} ms)`,
      );
    }
    if (BigInt(String(next.m.token)) <= BigInt(String(first.token)))
      violations.push(`the next leader's token ${next.m.token} is not larger than ${first.token}`);
    if (violations.length > 0)
      throw new Error(`${stall.name}, session timeout ${sessionTimeout} ms: ${violations.join("; ")}`);
  });
}

// ---- registration -------------------------------------------------------------------------------------

const NAMES = {
  a: (how: string) =>
    `a watcher ${how} for less than its timeout while others join, update and leave: once back, its events add up to members() (ids, seqs, metadata)`,
  b: (how: string) =>
    `a leader whose server stops answering (${how}): its driver reports suspended within two renewal intervals and before core's fallback, and the leader's signal aborts then`,
  c: (how: string) =>
    `a leader stalled past its timeout (${how}): its validity ends before the next leader is elected, and its driver reports no renewal the server could not have acknowledged`,
};

/**
 * Short stalls and cut-offs (checks a–c of the stall family): a watcher frozen — and, where the backend
 * can cut one client off, disconnected — for less than its timeout; driver-reported suspension; no
 * renewal the server did not acknowledge. Backends with a network run the cut-off variants in the
 * `partition` suite ({@link labStallChecks}); `scope: "process"` backends with `sessionControl.disconnect`;
 * backends whose target can stall the whole server (`stall: true`) with that.
 */
export function stallSuite(h: Harness): void {
  const { options } = h;
  describe("short stalls", () => {
    const long = () => h.detectionBound * 4 + 60_000;
    it(NAMES.a("frozen (SIGSTOP)"), () => checkWatchAcrossShortCut(h, frozen()), long());
    const control = options.sessionControl;
    if (control?.disconnect && control.reconnect) {
      const how = disconnected(control);
      it(NAMES.a("disconnected"), () => checkWatchAcrossShortCut(h, how), long());
      it(NAMES.b("sessionControl.disconnect"), () => checkReportedSuspension(h, how), long());
      it(NAMES.c("sessionControl.disconnect"), () => checkNoUnansweredRenewal(h, how), long());
    } else if (options.stall) {
      // No "disconnected watcher" here: a stall of the whole database stops every writer, so nothing
      // can change while the watcher is cut off (the frozen watcher above checks the resume).
      it(NAMES.b("target.stall()"), () => checkReportedSuspension(h, serverStall(h)), long());
      it(NAMES.c("target.stall()"), () => checkNoUnansweredRenewal(h, serverStall(h)), long());
    }
    // A backend with none of sessionControl.disconnect, a stall() hook or partition: true gives the kit
    // no way to stall its server; the README's table says which hooks register which checks.
  });
}

/**
 * The link-cut variants of checks a–c, registered inside the `partition` suite: the stalled participant
 * runs in a fresh lab host from `host` (which skips the test, with the reason, where no lab can be made),
 * its successor outside the lab's cut.
 */
export function labStallChecks(
  h: Harness,
  host: (ctx: TestContext, label: string) => Promise<LabHost>,
): void {
  const long = () => h.detectionBound * 6 + 60_000;
  const cut = (ctx: TestContext, label: string) => linkCut(() => host(ctx, label));
  it(NAMES.a("cut off by a link cut"), (ctx) => checkWatchAcrossShortCut(h, cut(ctx, "watcher")), long());
  it(NAMES.b("link cut"), (ctx) => checkReportedSuspension(h, cut(ctx, "leader")), long());
  it(NAMES.c("link cut"), (ctx) => checkNoUnansweredRenewal(h, cut(ctx, "leader")), long());
}
