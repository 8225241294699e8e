import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type Coordinator,
  type Json,
  REACTOR_CONFIG,
  type ReactorOptions,
  RollcallError,
  reactorStatus,
  releaseReactor,
} from "@rollcall/core";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, type Harness, randomId } from "../harness.js";
import type { Participant } from "../message-log.js";
import { type ReactorParticipant, startReactor } from "../reactor-participant.js";
import { type ReactorRun, readRuns } from "../reactor-runs.js";
import { temporaryFile } from "../temporary-file.js";

/** The environment variable that sets how many failover trials the `reactor` suite runs of each kind. */
export const REACTOR_TRIALS_ENV = "ROLLCALL_REACTOR_TRIALS";

/** Options of the kit's `reactor` suite (registered by `runConformance`). */
export interface ReactorSuiteOptions {
  /**
   * Failover trials of each kind (the acting reactor killed mid-handler, with a departure pending, and
   * while a member departs). Default: `ROLLCALL_REACTOR_TRIALS` when set, else 1 (every kind runs in the
   * README's test command; an acceptance run sets 20, see docs/reliability.md).
   */
  trials?: number;
}

/** The group every test reacts to; the reactor's name defaults to it. */
const GROUP = "compute";

/** The rejection of `attempt` (sync or async), which must be a `RollcallError`. */
async function rejection(attempt: () => unknown): Promise<RollcallError> {
  try {
    await attempt();
  } catch (error) {
    if (RollcallError.isInstance(error)) return error;
    throw new Error(`expected a RollcallError, got ${String(error)}`);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

function trialsFrom(options: ReactorSuiteOptions): number {
  if (options.trials !== undefined) return options.trials;
  const given = process.env[REACTOR_TRIALS_ENV];
  if (given === undefined || given === "") return 1;
  const trials = Number(given);
  if (!Number.isInteger(trials) || trials < 1)
    throw new Error(`${REACTOR_TRIALS_ENV} must be a positive integer, got ${JSON.stringify(given)}`);
  return trials;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

/** What one test works in: a coordinator of its own, the side-effect file and the path that releases a held handler. */
interface Scene {
  admin: Coordinator;
  effects: string;
  release: string;
}

/** The failover trials of the suite. */
type TrialKind = "mid-handler" | "pending" | "unattended";

/**
 * The reactor (`coord.reactor`, issue 16) with real processes — or, for `scope: "process"` backends,
 * in-process coordinators driven through `sessionControl`: members and reactors that are killed (SIGKILL),
 * frozen (SIGSTOP) and thawed, with every handler run appended to a side-effect file that outlives them.
 * It checks one actor and exactly one recorded run per departure, failover of the actor mid-handler and
 * with a departure pending (at-least-once side effects, exactly-once recording), a frozen former actor
 * that cannot record, the mass-failure brake and its release, the grace period, and bad input. On a
 * backend that declares `config: "none"`, each test checks that `coord.reactor()` says `NOT_SUPPORTED`
 * instead (the characteristics are read after the tests are registered).
 */
export function reactorSuite(h: Harness, options: ReactorSuiteOptions = {}): void {
  const trials = trialsFrom(options);
  const T = h.sessionTimeout;
  /** How long a batch of processes gets to connect and report ready (two cores, other tests running). */
  const spawnBound = h.eventTimeout * 4;
  /** The brake's default hold: half its default window of two session timeouts. */
  const defaultHold = T;
  /** From a member's kill until a handler for it has run, with a departure hold of `hold` ms. */
  const departureBound = (hold: number) => h.detectionBound + hold + h.eventTimeout;
  /** From the acting reactor's kill until the next one has taken over and acted. */
  const failoverBound = h.detectionBound * 2 + h.eventTimeout;

  describe("reactor", () => {
    const reactors: ReactorParticipant[] = [];
    const files: { remove(): Promise<void> }[] = [];

    afterEach(async () => {
      await Promise.allSettled(reactors.splice(0).map((r) => r.dispose()));
      await Promise.allSettled(files.splice(0).map((f) => f.remove()));
    }, 60_000);

    /**
     * A coordinator with the group created and a side-effect file; `undefined` (after checking that
     * `coord.reactor()` says `NOT_SUPPORTED`) when the backend has no configuration store.
     */
    async function openScene(): Promise<Scene | undefined> {
      const admin = await h.coordinator(randomId("admin"));
      await admin.createGroup(GROUP);
      if (h.characteristics.config === "none") {
        const refused = await rejection(() => admin.reactor(GROUP, async () => {}));
        expect(refused.code, refused.message).toBe("NOT_SUPPORTED");
        return undefined;
      }
      const file = temporaryFile("reactor", "effects.jsonl");
      files.push(file);
      return { admin, effects: file.path, release: join(dirname(file.path), "release") };
    }

    /** `count` members of the group, each in a process of its own, all connected and joined. */
    async function fleet(count: number): Promise<Participant[]> {
      const members = Array.from({ length: count }, (_, i) =>
        h.participant(
          randomId(`node${i}`),
          { join: [{ group: GROUP, metadata: { n: i } }] },
          h.characteristics.scope,
        ),
      );
      await Promise.all(members.map((m) => m.ready(spawnBound)));
      return members;
    }

    /** A reactor process; with `hold`, a departure's first run blocks until `scene.release` exists. */
    function reactor(scene: Scene, reactorOptions: ReactorOptions, hold = false): ReactorParticipant {
      const started = startReactor(h, randomId("reactor"), {
        group: GROUP,
        options: reactorOptions,
        effects: scene.effects,
        ...(hold ? { holdUntil: scene.release } : {}),
      });
      reactors.push(started);
      return started;
    }

    /** Waits until one of `candidates` acts, and checks that only one does. */
    async function actorOf(candidates: ReactorParticipant[]): Promise<ReactorParticipant> {
      await eventually(() => candidates.some((r) => r.isActing()), h.eventTimeout, "an acting reactor");
      const acting = candidates.filter((r) => r.isActing());
      expect(
        acting.map((r) => r.memberId),
        "one actor",
      ).toHaveLength(1);
      return acting[0] as ReactorParticipant;
    }

    /** Waits until the actor has recorded `members` as the group's membership (the stored `known` records). */
    async function recorded(scene: Scene, members: Participant[]): Promise<void> {
      const prefix = `${GROUP}/known/`;
      await eventually(
        async () => {
          const { entries } = await scene.admin.config(REACTOR_CONFIG).entries({ prefix });
          const known = new Set(entries.map((e) => e.key.slice(prefix.length)));
          return members.every((m) => known.has(m.memberId));
        },
        h.eventTimeout,
        "the acting reactor recording the membership",
      );
    }

    /** Waits until the departure of `member` is stored as pending; returns its key. */
    async function pendingKey(scene: Scene, member: Participant, timeout: number): Promise<string> {
      let key: string | undefined;
      await eventually(
        async () => {
          const { pending } = await reactorStatus(scene.admin, GROUP);
          key = pending.find((d) => d.memberId === member.memberId)?.key;
          return key !== undefined;
        },
        timeout,
        `the departure of ${member.memberId} pending`,
      );
      return key as string;
    }

    /** Waits until nothing is pending any more. */
    async function nothingPending(scene: Scene, timeout: number): Promise<void> {
      await eventually(
        async () => (await reactorStatus(scene.admin, GROUP)).pending.length === 0,
        timeout,
        "no departure pending",
      );
    }

    /** How many times the stored state lists `key` as handled (the record is written by compare-and-set). */
    async function timesRecorded(scene: Scene, key: string): Promise<number> {
      const state = await scene.admin.config(REACTOR_CONFIG).get(`${GROUP}/state`);
      const done = (state?.value as { done?: Json } | undefined)?.done;
      return Array.isArray(done) ? done.filter((k) => k === key).length : 0;
    }

    function runsOf(scene: Scene, key: string): ReactorRun[] {
      return readRuns(scene.effects).filter((run) => run.key === key);
    }

    /** Closes `list` gracefully and waits until each has: no handler can run after this. */
    async function closeAll(list: ReactorParticipant[]): Promise<void> {
      for (const r of list) r.close();
      await Promise.all(list.map((r) => r.waitFor((m) => m.type === "closed", h.eventTimeout, "closed")));
    }

    it(
      "three reactors, ten members, three members killed: exactly three handler runs, all by the actor, none repeated",
      async () => {
        const scene = await openScene();
        if (!scene) return;
        const members = await fleet(10);
        const all = [0, 1, 2].map(() => reactor(scene, {}));
        await Promise.all(all.map((r) => r.ready(spawnBound)));
        const actor = await actorOf(all);
        await recorded(scene, members);
        const victims = [members[1], members[4], members[7]] as Participant[];
        await Promise.all(victims.map((v) => v.kill()));
        await eventually(
          async () =>
            readRuns(scene.effects).length >= 3 &&
            (await reactorStatus(scene.admin, GROUP)).pending.length === 0,
          departureBound(defaultHold) + h.eventTimeout,
          "three departures handled and nothing pending",
        );
        const { token } = await reactorStatus(scene.admin, GROUP);
        await closeAll(all);
        const runs = readRuns(scene.effects);
        expect(runs.map((r) => r.memberId).sort(), "one run per killed member").toEqual(
          victims.map((v) => v.memberId).sort(),
        );
        expect(new Set(runs.map((r) => r.key)).size, "no key run twice").toBe(3);
        for (const run of runs) {
          expect(run.key).toBe(`${run.memberId}@${run.seq}`);
          expect(run, "every run by the actor, under its token").toMatchObject({
            reactor: actor.memberId,
            token: String(token),
            attempt: 1,
          });
          expect(actor.about("handled", run.key), `${run.key} recorded once`).toHaveLength(1);
          expect(await timesRecorded(scene, run.key)).toBe(1);
        }
        const acted = actor.states().slice(actor.states().indexOf("acting"));
        expect(acted, "the actor never stepped down").not.toContain("standby");
        for (const other of all.filter((r) => r !== actor)) {
          expect(other.states(), `${other.memberId} stood by`).not.toContain("acting");
          expect(other.messages.filter((m) => m.type === "running")).toEqual([]);
        }
      },
      spawnBound * 2 + departureBound(defaultHold) + h.eventTimeout * 4 + 30_000,
    );

    /**
     * One failover trial in a fresh namespace: two members and two reactors, the first acting. Returns
     * the time from the actor's kill to the departure recorded by the next one (ms).
     */
    async function failoverTrial(kind: TrialKind): Promise<number | undefined> {
      h.freshNamespace();
      const scene = await openScene();
      if (!scene) return undefined;
      const reactorOptions: ReactorOptions = kind === "pending" ? { grace: 3 * T } : {};
      const started: (ReactorParticipant | Participant)[] = [];
      try {
        const members = await fleet(2);
        started.push(...members);
        const victim = members[0] as Participant;
        const first = reactor(scene, reactorOptions, kind === "mid-handler");
        started.push(first);
        await first.ready(spawnBound);
        await actorOf([first]);
        await recorded(scene, members);
        const next = reactor(scene, reactorOptions, kind === "mid-handler");
        started.push(next);
        await next.ready(spawnBound);
        expect(next.isActing(), "the second reactor stands by").toBe(false);

        let key: string;
        let killedAt: number;
        if (kind === "mid-handler") {
          await victim.kill();
          const running = await first.waitFor(
            (m) => m.type === "running",
            departureBound(defaultHold),
            "the handler running",
          );
          key = String(running.key);
          killedAt = Date.now();
          first.kill();
        } else if (kind === "pending") {
          await victim.kill();
          key = await pendingKey(scene, victim, h.detectionBound + h.eventTimeout);
          killedAt = Date.now();
          first.kill();
        } else {
          killedAt = Date.now();
          first.kill();
          await victim.kill();
          const handled = await next.waitFor(
            (m) => m.type === "handled" && String(m.key).startsWith(`${victim.memberId}@`),
            failoverBound + defaultHold,
            "the departure handled by the next actor",
          );
          key = String(handled.key);
        }
        await next.handled(key, failoverBound + 3 * T);
        const after = Date.now() - killedAt;
        await nothingPending(scene, h.eventTimeout);
        const runs = runsOf(scene, key);
        if (kind === "mid-handler") {
          // At-least-once side effects: the killed actor's run, then the next actor's, under a newer token.
          expect(runs.map((r) => r.reactor)).toEqual([first.memberId, next.memberId]);
          expect(BigInt(runs[1]?.token ?? 0)).toBeGreaterThan(BigInt(runs[0]?.token ?? 0));
        } else {
          expect(
            runs.map((r) => r.reactor),
            "run once, by the next actor",
          ).toEqual([next.memberId]);
        }
        expect(next.about("handled", key)).toHaveLength(1);
        expect(await timesRecorded(scene, key), "recorded exactly once").toBe(1);
        expect(
          readRuns(scene.effects).filter((r) => r.key !== key),
          "no other departure",
        ).toEqual([]);
        return after;
      } finally {
        await Promise.allSettled(started.map((p) => p.dispose()));
        await scene.admin.close();
      }
    }

    const trialBound = spawnBound * 3 + failoverBound + departureBound(3 * T) + h.eventTimeout * 3;
    const trialNames: Record<TrialKind, string> = {
      "mid-handler":
        "the acting reactor killed while its handler runs: the next completes it (run again, recorded once)",
      pending: "the acting reactor killed with a departure pending (grace): the next runs it once",
      unattended:
        "a member that departs while no reactor acts (the actor just killed): the next finds and runs it once",
    };
    for (const kind of ["mid-handler", "pending", "unattended"] as const) {
      it(
        `failover, ${trials} trial(s): ${trialNames[kind]}`,
        async () => {
          const times: number[] = [];
          for (let trial = 0; trial < trials; trial++) {
            const after = await failoverTrial(kind);
            if (after === undefined) return;
            times.push(after);
          }
          console.info(
            `${h.options.name} reactor failover (${kind}): ${trials} trials, kill → recorded by the next actor: median ${(median(times) / T).toFixed(2)}×, max ${(Math.max(...times) / T).toFixed(2)}× the session timeout (${T} ms)`,
          );
        },
        trials * trialBound + 30_000,
      );
    }

    /**
     * The acting reactor frozen past its session timeout with the departure `key` in hand (mid-handler or
     * pending); the next takes over and records it; thawed, the former actor stands by and records nothing.
     */
    async function frozenActor(midHandler: boolean): Promise<void> {
      const scene = await openScene();
      if (!scene) return;
      const reactorOptions: ReactorOptions = midHandler ? {} : { grace: 3 * T };
      const members = await fleet(2);
      const victim = members[0] as Participant;
      const first = reactor(scene, reactorOptions, midHandler);
      await first.ready(spawnBound);
      await actorOf([first]);
      await recorded(scene, members);
      const next = reactor(scene, reactorOptions, midHandler);
      await next.ready(spawnBound);
      await victim.kill();
      const key = midHandler
        ? String(
            (
              await first.waitFor(
                (m) => m.type === "running",
                departureBound(defaultHold),
                "the handler running",
              )
            ).key,
          )
        : await pendingKey(scene, victim, h.detectionBound + h.eventTimeout);
      first.freeze();
      await next.handled(key, failoverBound + 3 * T);
      // The former actor's handler may now finish: it must not be able to record.
      writeFileSync(scene.release, "");
      first.thaw();
      await first.backToStandby(h.eventTimeout + T * 2);
      expect(first.about("handled", key), "the former actor recorded nothing").toEqual([]);
      const runs = runsOf(scene, key);
      expect(runs.map((r) => r.reactor)).toEqual(
        midHandler ? [first.memberId, next.memberId] : [next.memberId],
      );
      const status = await reactorStatus(scene.admin, GROUP);
      expect(status.pending).toEqual([]);
      expect(String(status.token), "the next actor's token is the recorded one").toBe(runs.at(-1)?.token);
      expect(await timesRecorded(scene, key), "recorded exactly once").toBe(1);
      expect(next.isActing(), "the next actor still acts").toBe(true);
    }

    const frozenBound = spawnBound * 3 + departureBound(3 * T) + failoverBound + h.eventTimeout * 3 + 30_000;
    it(
      "the actor frozen (SIGSTOP) mid-handler past its timeout, then thawed: the next records the departure; the former one cannot and stands by",
      () => frozenActor(true),
      frozenBound,
    );
    it(
      "the actor frozen with a departure pending, then thawed: the next runs and records it; the former one runs nothing and stands by",
      () => frozenActor(false),
      frozenBound,
    );

    it(
      "60% of the members killed at once: the brake engages and holds across a failover; released, every departure is handled once",
      async () => {
        const scene = await openScene();
        if (!scene) return;
        const window = 4 * T;
        const reactorOptions: ReactorOptions = { brake: { fraction: 0.5, window } };
        const members = await fleet(10);
        const first = reactor(scene, reactorOptions);
        await first.ready(spawnBound);
        await actorOf([first]);
        await recorded(scene, members);
        const next = reactor(scene, reactorOptions);
        await next.ready(spawnBound);
        const victims = members.slice(0, 6);
        await Promise.all(victims.map((v) => v.kill()));
        await eventually(
          async () => (await reactorStatus(scene.admin, GROUP)).brake?.engaged === true,
          h.detectionBound + h.eventTimeout,
          "the brake engaged",
        );
        const engagedAt = Date.now();
        const { brake } = await reactorStatus(scene.admin, GROUP);
        // The size is the group as the actor last saw it plus the departures it counted: at most ten.
        expect(brake?.size ?? 0).toBeLessThanOrEqual(10);
        expect(brake?.departures ?? 0).toBeGreaterThan(0.5 * (brake?.size ?? 0));
        await first.waitFor((m) => m.type === "braked", h.eventTimeout, "the braked event");
        expect(first.states()).toContain("braked");
        // The brake is stored: the next actor takes over braked.
        first.kill();
        await next.waitFor(
          (m) => m.type === "state" && m.state === "braked",
          failoverBound,
          "braked after failover",
        );
        // Nothing may run while braked: wait past the departures' hold (2 T) and one more session timeout.
        const hold = window / 2;
        await new Promise((r) => setTimeout(r, Math.max(0, engagedAt + hold - Date.now()) + T));
        expect(readRuns(scene.effects), "no handler ran while braked").toEqual([]);
        const held = await reactorStatus(scene.admin, GROUP);
        expect(held.brake?.engaged).toBe(true);
        expect(held.pending.map((d) => d.memberId).sort()).toEqual(victims.map((v) => v.memberId).sort());

        expect(await releaseReactor(scene.admin, GROUP), "an engaged brake is released").toBe(true);
        await next.waitFor((m) => m.type === "released" && m.by === "operator", h.eventTimeout, "released");
        await eventually(
          async () =>
            readRuns(scene.effects).length >= 6 &&
            (await reactorStatus(scene.admin, GROUP)).pending.length === 0,
          h.eventTimeout * 2,
          "the six departures handled after the release",
        );
        await closeAll([next]);
        const runs = readRuns(scene.effects);
        expect(runs.map((r) => r.memberId).sort()).toEqual(victims.map((v) => v.memberId).sort());
        expect(new Set(runs.map((r) => r.key)).size).toBe(6);
        expect(new Set(runs.map((r) => r.reactor))).toEqual(new Set([next.memberId]));
        expect(await releaseReactor(scene.admin, GROUP), "nothing left to release").toBe(false);
      },
      spawnBound * 2 + h.detectionBound * 3 + failoverBound + 4 * T + h.eventTimeout * 6 + 30_000,
    );

    it(
      "a member back within the grace period (the same id, in a new process) cancels its action; one that stays away is acted upon",
      async () => {
        const scene = await openScene();
        if (!scene) return;
        const grace = 3 * T;
        const members = await fleet(6);
        const [flapper, late] = members as [Participant, Participant];
        const actor = reactor(scene, { grace });
        await actor.ready(spawnBound);
        await actorOf([actor]);
        await recorded(scene, members);
        await flapper.kill();
        const key = await pendingKey(scene, flapper, h.detectionBound + h.eventTimeout);
        const pendingSince = Date.now();
        const back = h.participant(
          flapper.memberId,
          { join: [{ group: GROUP, metadata: { n: 0 } }] },
          h.characteristics.scope,
        );
        await back.ready(spawnBound);
        expect(
          Date.now() - pendingSince,
          "the member must be back within the grace period for this test to mean anything",
        ).toBeLessThan(grace);
        await nothingPending(scene, grace);
        expect(readRuns(scene.effects), "the action was cancelled").toEqual([]);
        // A member that stays away is acted upon after the grace; the flapper's action, due earlier, would
        // have run first had it not been cancelled.
        await late.kill();
        await eventually(
          () => readRuns(scene.effects).length > 0,
          departureBound(grace),
          "the departure of the member that stayed away handled",
        );
        await nothingPending(scene, h.eventTimeout);
        await closeAll([actor]);
        const runs = readRuns(scene.effects);
        expect(runs.map((r) => r.memberId)).toEqual([late.memberId]);
        expect(runs.some((r) => r.key === key)).toBe(false);
      },
      spawnBound * 3 + h.detectionBound * 2 + departureBound(3 * T) + 3 * T + h.eventTimeout * 4 + 30_000,
    );

    it(
      "bad input (unknown group, bad handler, bad options): typed errors, and nothing written",
      async () => {
        const coord = await h.coordinator(randomId("admin"));
        const handler = async () => {};
        const expectRefused = async (attempt: () => unknown, code: string, names: RegExp) => {
          const error = await rejection(attempt);
          expect(error.code, error.message).toBe(code);
          expect(error.message).toMatch(names);
        };
        await expectRefused(() => coord.reactor("bad/../name", handler), "INVALID_ARGUMENT", /name/);
        if (h.characteristics.config === "none") {
          await expectRefused(() => coord.reactor("nope", handler), "NOT_SUPPORTED", /config/i);
        } else {
          await expectRefused(() => coord.reactor("nope", handler), "GROUP_NOT_FOUND", /nope/);
        }
        await coord.createGroup(GROUP);
        const invalid: [unknown, unknown, RegExp][] = [
          ["not a function", undefined, /handler/],
          [handler, "not an object", /options/],
          [handler, { grace: -1 }, /grace/],
          [handler, { grace: 1.5 }, /grace/],
          [handler, { reasons: [] }, /reasons/],
          [handler, { reasons: ["gone"] }, /reasons/],
          [handler, { brake: { fraction: 0 } }, /fraction/],
          [handler, { brake: { fraction: 1 } }, /fraction/],
          [handler, { brake: { fraction: 2 } }, /fraction/],
          [handler, { brake: { window: 0 } }, /window/],
          [handler, { brake: "half" }, /brake/],
          [handler, { name: "bad name" }, /name/],
          [handler, { retry: { initial: 0 } }, /initial/],
          [handler, { retry: { initial: 100, max: 50 } }, /max/],
        ];
        for (const [given, opts, names] of invalid) {
          await expectRefused(
            () => coord.reactor(GROUP, given as never, opts as never),
            "INVALID_ARGUMENT",
            names,
          );
        }
        expect(await coord.groups(), "no group created").toEqual([GROUP]);
        expect(await coord.elections(), "no election entered").toEqual([]);
        if (h.characteristics.config === "none") {
          await expectRefused(() => coord.reactor(GROUP, handler), "NOT_SUPPORTED", /config/i);
          return;
        }
        expect(await coord.configs(), "no reactor progress written").not.toContain(REACTOR_CONFIG);
        expect(await coord.configs()).toEqual([]);
      },
      h.eventTimeout * 3,
    );
  });
}
