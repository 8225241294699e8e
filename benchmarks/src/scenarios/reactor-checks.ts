/**
 * The reactor scenario's pure part: matching what was done (a member SIGKILLed, an acting reactor
 * SIGKILLed) to the handler runs the reactor processes reported, and counting runs per departure; and
 * matching each acting reactor's SIGKILL to the moment another reactor process took over.
 */

/** A handler run a reactor process reported (its `start` event). */
export interface HandlerStart {
  /** The reactor process (agent label) that ran it. */
  reactor: string;
  /** The departed member. */
  memberId: string;
  /** The departure's idempotency key, `<memberId>@<seq>`. */
  key: string;
  /** When the handler was entered (host clock, ms). */
  at: number;
}

/** Something the harness did that must lead to one handler run for `memberId`. */
export interface Trigger {
  /** The member whose departure the run is for (one departure per member: ids are never reused). */
  memberId: string;
  /** The moment measured from (host clock, ms): the member's SIGKILL, or the acting reactor's. */
  at: number;
  /**
   * The reactor process killed (failover): its runs are not the one measured, they are counted apart.
   */
  killedReactor?: string;
}

/** The handler runs matched to the triggers. */
export interface ReactionMatch {
  /**
   * Per trigger, in order: the first run after `at` by a reactor other than the killed one, minus `at` (ms);
   * undefined when there was none.
   */
  delays: (number | undefined)[];
  /** Triggers with no such run. */
  missing: number;
  /** Per trigger: every run for its member, by any reactor process (the killed one's included). */
  runs: number[];
  /** Departures run more than once. */
  repeated: number;
  /** Runs by the killed reactor process (it had begun before its SIGKILL). */
  byKilled: number;
  /** Departures run under more than one key (a member id must make one departure here). */
  keys: number;
  /** Runs for members no trigger names. */
  stray: number;
}

/**
 * Matches handler runs to triggers by member id (the scenario never reuses one). A departure handled
 * exactly once has `runs` 1; after a failover a second run is allowed by the reactor's contract (the side
 * effects are at-least-once) but is counted.
 */
export function matchReactions(triggers: readonly Trigger[], starts: readonly HandlerStart[]): ReactionMatch {
  const byMember = new Map<string, HandlerStart[]>();
  for (const start of starts) {
    const list = byMember.get(start.memberId) ?? [];
    list.push(start);
    byMember.set(start.memberId, list);
  }
  const named = new Set(triggers.map((t) => t.memberId));
  const delays: (number | undefined)[] = [];
  const runs: number[] = [];
  let missing = 0;
  let repeated = 0;
  let byKilled = 0;
  let keys = 0;
  for (const trigger of triggers) {
    const mine = [...(byMember.get(trigger.memberId) ?? [])].sort((a, b) => a.at - b.at);
    const first = mine.find((s) => s.at >= trigger.at && s.reactor !== trigger.killedReactor);
    delays.push(first === undefined ? undefined : first.at - trigger.at);
    if (first === undefined) missing++;
    runs.push(mine.length);
    if (mine.length > 1) repeated++;
    if (trigger.killedReactor !== undefined)
      byKilled += mine.filter((s) => s.reactor === trigger.killedReactor).length;
    if (new Set(mine.map((s) => s.key)).size > 1) keys++;
  }
  const stray = starts.filter((s) => !named.has(s.memberId)).length;
  return { delays, missing, runs, repeated, byKilled, keys, stray };
}

/** A reactor process reporting that it took over: its `state` event, `acting` (or `braked`). */
export interface Takeover {
  /** The reactor process (agent label) that now acts. */
  reactor: string;
  /** When it reported it (host clock, ms). */
  at: number;
}

/** The takeovers matched to the acting reactors' SIGKILLs. */
export interface TakeoverMatch {
  /**
   * Per trigger, in order: the first takeover at or after `at` by a reactor process other than the killed
   * one, minus `at` (ms); undefined when there was none.
   */
  delays: (number | undefined)[];
  /** Triggers no other reactor process took over after. */
  missing: number;
}

/**
 * Matches each SIGKILL of an acting reactor (a trigger with `killedReactor`) to the first takeover that
 * followed it by another reactor process: the failover itself, apart from what the new actor then waits
 * for (the rest of a pending departure's grace). Triggers without `killedReactor` are not failovers and
 * are skipped (no entry in `delays`).
 */
export function matchTakeovers(triggers: readonly Trigger[], takeovers: readonly Takeover[]): TakeoverMatch {
  const sorted = [...takeovers].sort((a, b) => a.at - b.at);
  const delays: (number | undefined)[] = [];
  let missing = 0;
  for (const trigger of triggers) {
    if (trigger.killedReactor === undefined) continue;
    const first = sorted.find((t) => t.at >= trigger.at && t.reactor !== trigger.killedReactor);
    delays.push(first === undefined ? undefined : first.at - trigger.at);
    if (first === undefined) missing++;
  }
  return { delays, missing };
}
