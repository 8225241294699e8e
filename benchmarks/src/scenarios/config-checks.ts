/**
 * The config scenario's pure checks: matching a watcher's events to the writes that caused them, and
 * whether a compare-and-set race lost or doubled an increment.
 */

/** A watcher's `put` event as the config scenario keeps it: the version it carried, when it arrived. */
export interface SeenPut {
  version: string;
  at: number;
}

/** The writes matched to a watcher's events. */
export interface NotifyMatch {
  /** Per write seen: the watcher's receipt − the moment the write was called, in ms. */
  latencies: number[];
  /** Writes whose version the watcher never reported. */
  missing: number;
  /** Events whose version was not above every version delivered before it (order broken or repeated). */
  outOfOrder: number;
}

/**
 * Matches `[version, startedAt, endedAt]` writes to the watcher's `put` events (in the order received) by
 * version; the first event with a write's version counts.
 */
export function matchNotify(
  sets: readonly (readonly [string, number, number])[],
  seen: readonly SeenPut[],
): NotifyMatch {
  const arrival = new Map<string, number>();
  let outOfOrder = 0;
  let highest: bigint | undefined;
  for (const event of seen) {
    const version = BigInt(event.version);
    if (highest !== undefined && version <= highest) outOfOrder++;
    else highest = version;
    if (!arrival.has(event.version)) arrival.set(event.version, event.at);
  }
  const latencies: number[] = [];
  let missing = 0;
  for (const [version, startedAt] of sets) {
    const at = arrival.get(version);
    if (at === undefined) missing++;
    else latencies.push(at - startedAt);
  }
  return { latencies, missing, outOfOrder };
}

/** What a compare-and-set race left behind, against what the winners claim to have written. */
export interface CasVerdict {
  /** Winning writes (the writers' claims). */
  successes: number;
  /** Values two or more winners claim to have written (an increment won twice). */
  duplicates: number;
  /** Values between the start and the final value that no winner claims (a lost update). */
  missing: number;
  /** The final value is the start plus the winners, and every value in between was won exactly once. */
  correct: boolean;
}

/**
 * Checks a counter race: every winner of a compare-and-set increment wrote `read + 1`, so the values won
 * must be `initial + 1 … final`, each exactly once, and `final − initial` must equal the number of winners.
 */
export function casVerdict(
  written: readonly (readonly number[])[],
  initial: number,
  final: number,
): CasVerdict {
  const counts = new Map<number, number>();
  let successes = 0;
  for (const writer of written) {
    for (const value of writer) {
      counts.set(value, (counts.get(value) ?? 0) + 1);
      successes++;
    }
  }
  let duplicates = 0;
  for (const n of counts.values()) if (n > 1) duplicates++;
  let missing = 0;
  for (let v = initial + 1; v <= final; v++) if (!counts.has(v)) missing++;
  const outside = [...counts.keys()].some((v) => v <= initial || v > final);
  return {
    successes,
    duplicates,
    missing,
    correct: final - initial === successes && duplicates === 0 && missing === 0 && !outside,
  };
}
