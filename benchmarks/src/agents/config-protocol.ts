/**
 * The config scenario's commands, as both the rollcall agent (`config-commands.ts`) and the etcd3 peer
 * (`peers/etcd3-agent.ts`) answer them after `connect` ({ url, memberIds }). Versions travel as decimal
 * strings (bigints do not survive JSON). A watcher reports `{ event: "config", type, key?, version?, size?,
 * resync?, at }`: a `snapshot` first, then every `put` and `delete`.
 */

/** `configWatch`: a watch of a whole store, resolved once its snapshot is in. */
export interface ConfigWatchRequest {
  memberId: string;
  store: string;
}

/** `configSets`: `count` writes of one key, each after a random pause of up to `maxGapMs`. */
export interface ConfigSetsRequest {
  memberId: string;
  store: string;
  key: string;
  count: number;
  maxGapMs: number;
}

/** What `configSets` returns: per write, `[version written, call started, call ended]` (host clock, ms). */
export interface ConfigSetsResult {
  sets: [string, number, number][];
}

/** `configSet`: one unconditional write. */
export interface ConfigSetRequest {
  memberId: string;
  store: string;
  key: string;
  value: number;
}

/** `configGet`: one read; `value` and `version` are absent when the key has no entry. */
export interface ConfigGetResult {
  value?: unknown;
  version?: string;
}

/**
 * `configCas`: from `startAt` (host clock) for `durationMs`, every coordinator of `memberIds` increments the
 * number under `key`: read it, then write it + 1 only if its version is still the one read.
 */
export interface ConfigCasRequest {
  memberIds: string[];
  store: string;
  key: string;
  startAt: number;
  durationMs: number;
}

/** What one process's writers did in `configCas`. */
export interface ConfigCasResult {
  startedAt: number;
  endedAt: number;
  /** Compare-and-sets that won. */
  successes: number;
  /** Compare-and-sets refused because another writer had written first (`VERSION_MISMATCH`). */
  conflicts: number;
  /** Anything else that failed (reads included). */
  errors: number;
  firstError?: string;
  /** The value each winning write wrote, per writer: together they must be 1, 2, … once each. */
  written: number[][];
}

/**
 * `configScale`: writes `keys` entries into `store` (over `loaderSessions` connections of its own,
 * `loadConcurrency` writes in flight, giving up after `loadTimeoutMs`), then `repetitions` times: a new
 * coordinator (connection) takes a new watcher's first snapshot, then an `entries()` (a listing).
 */
export interface ConfigScaleRequest {
  url: string;
  store: string;
  keys: number;
  loaderSessions: number;
  loadConcurrency: number;
  loadTimeoutMs: number;
  repetitions: number;
}

/** What `configScale` measured. */
export interface ConfigScaleResult {
  loadMs: number;
  /** From `watch()` to its first event, the snapshot, per new watcher. */
  snapshotMs: number[];
  /** Entries in each first snapshot (should equal `keys`). */
  snapshotSizes: number[];
  /** Latency of one listing of every entry (`entries()`). */
  entriesMs: number[];
  /** Entries in each listing (should equal `keys`). */
  entriesSizes: number[];
}

/** The key of the `index`th entry `configScale` writes: `service-007/option-00123`. */
export function scaleKey(index: number): string {
  return `service-${String(index % 100).padStart(3, "0")}/option-${String(index).padStart(5, "0")}`;
}

/** The value of the `index`th entry `configScale` writes: a small settings object. */
export function scaleValue(index: number): { value: number; enabled: boolean; host: string } {
  return { value: index, enabled: index % 2 === 0, host: `compute-${index + 1}` };
}

/** The error message prefix an agent uses when the backend has no configuration store. */
export const NOT_SUPPORTED = "NOT_SUPPORTED";
