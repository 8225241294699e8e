import { type Coordinator, connect, type Leadership, RollcallError } from "@rollcall/core";
import type { ErrorTally } from "./error-tally.js";

/** How the load behaves. */
export interface LoadSettings {
  url: string;
  group: string;
  coordinators: number;
  /** Every `electionEvery`-th round of a coordinator also campaigns and resigns. */
  electionEvery: number;
  /** Every `lockEvery`-th round (offset by half) also takes and releases a lock. */
  lockEvery: number;
  /** Bound on one campaign or lock wait (ms): a wait longer than this counts as `TIMEOUT`. */
  waitBound: number;
  memberPrefix: string;
}

/** When each kind of operation last succeeded (performance.now()), for recovery after storms. */
export interface LastSuccess {
  round: number;
  campaign: number;
  lock: number;
}

/**
 * N coordinators in this process, each in a loop: join with metadata, update, leave; every so often
 * campaign and resign, take and release a lock. Every call is awaited; outcomes go to the tally.
 */
export class Load {
  private readonly coords: Coordinator[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  /** Completed rounds, summed over coordinators. */
  rounds = 0;
  readonly last: LastSuccess = { round: 0, campaign: 0, lock: 0 };
  /** Per coordinator: when it last completed a whole join/update/leave round. */
  readonly lastRoundOf: number[] = [];

  constructor(
    private readonly settings: LoadSettings,
    private readonly tally: ErrorTally,
  ) {}

  /** Connects every coordinator and starts their loops. */
  async start(): Promise<void> {
    const { coordinators, url, memberPrefix } = this.settings;
    for (let i = 0; i < coordinators; i++) {
      this.coords.push(await connect(url, { memberId: `${memberPrefix}-${i}` }));
      this.lastRoundOf.push(0);
    }
    await this.coords[0]?.createGroup(this.settings.group).catch((error: unknown) => {
      if (!RollcallError.hasCode(error, "GROUP_EXISTS")) throw error;
    });
    this.coords.forEach((coord, i) => {
      this.loops.push(this.loop(coord, i));
    });
  }

  /** Ids of the coordinators. */
  get memberIds(): string[] {
    return this.coords.map((c) => c.memberId);
  }

  /** A coordinator of the load, for reads. */
  get reader(): Coordinator {
    const first = this.coords[0];
    if (!first) throw new Error("the load has not started");
    return first;
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    try {
      const value = await fn();
      this.tally.success(operation);
      return { value };
    } catch (error) {
      this.tally.failure(operation, error);
      // Back off a little after a failure, as a service would, so an outage is not a busy loop.
      await new Promise((r) => setTimeout(r, 20));
      return undefined;
    }
  }

  private async loop(coord: Coordinator, index: number): Promise<void> {
    const { group, electionEvery, lockEvery, waitBound } = this.settings;
    let joined = false;
    for (let round = 0; !this.stopping; round++) {
      if (!joined) {
        let exists = false;
        const join = () =>
          coord.join(group, { metadata: { index, round } }).catch((error: unknown) => {
            exists = RollcallError.hasCode(error, "MEMBER_EXISTS");
            throw error;
          });
        joined = (await this.call("join", join)) !== undefined;
        // "Already joined": a leave that failed while the session was away left the group joined, and the
        // coordinator re-joined it with its new session. A service would go on from there, not join forever.
        if (exists) joined = await this.isJoined(coord);
      }
      if (this.stopping) break;
      if (joined)
        await this.call("update", () => coord.updateMetadata(group, { index, round, updated: true }));
      if (this.stopping) break;
      if (joined) {
        const left = await this.call("leave", () => coord.leave(group));
        if (left || !(await this.isJoined(coord))) joined = false;
        if (!joined) {
          this.rounds++;
          this.last.round = performance.now();
          this.lastRoundOf[index] = this.last.round;
        }
      }
      if (round % electionEvery === index % electionEvery) await this.leadOnce(coord, "campaign", waitBound);
      if (round % lockEvery === (index + Math.floor(lockEvery / 2)) % lockEvery)
        await this.leadOnce(coord, "lock", waitBound);
    }
    // End joined, so the final comparison of views with members() has something to compare.
    if (!joined) await this.call("join", () => coord.join(group, { metadata: { index, final: true } }));
  }

  /** Whether the coordinator's member is in the group (after a leave whose outcome is unknown). */
  private async isJoined(coord: Coordinator): Promise<boolean> {
    try {
      return (await coord.members(this.settings.group)).some((m) => m.id === coord.memberId);
    } catch {
      return true; // unknown: the next leave retries
    }
  }

  private async leadOnce(coord: Coordinator, kind: "campaign" | "lock", waitBound: number): Promise<void> {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new RollcallError("TIMEOUT", `no leadership within ${waitBound} ms`)),
      waitBound,
    );
    const held = await this.call(
      kind,
      (): Promise<Leadership> =>
        kind === "lock"
          ? coord.lock("soak-lock").acquire({ timeout: waitBound })
          : coord.election("soak-election").campaign({ signal: deadline.signal }),
    );
    clearTimeout(timer);
    if (!held) return;
    this.last[kind] = performance.now();
    await this.call(kind === "lock" ? "release" : "resign", () => held.value.resign());
  }

  /** Stops the loops (each ends joined) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Closes every coordinator. */
  async close(): Promise<void> {
    await Promise.allSettled(this.coords.map((c) => c.close()));
  }
}
