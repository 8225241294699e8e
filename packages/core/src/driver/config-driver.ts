import type { Json } from "../types.js";
import type { WatchHandle } from "./driver.js";

/** One configuration entry as a driver stores and returns it. */
export interface ConfigRecord {
  /** The key, as core validated it (`/` separates segments). */
  key: string;
  /** The value (JSON). */
  value: Json;
  /**
   * The entry's version: assigned by the backend at each write, greater than every version this key
   * ever had — also across a delete and a re-create — and never `0n` (which `ifVersion` uses for
   * "only if absent"). Backends use a revision that grows over the whole store or namespace (etcd's
   * `mod_revision`, ZooKeeper's `mzxid`, a change-log id), which gives that for free. A `volatile` store
   * must keep it growing through the loss of its data too (a server restarted without persistence):
   * core's watches ignore changes at or below a revision they have seen.
   */
  version: bigint;
  /** When the value was written. */
  updatedAt: Date;
}

/** A consistent listing of a store's entries under a prefix, with the revision it is current at. */
export interface ConfigListing {
  /** Entries in any order. */
  entries: ConfigRecord[];
  /**
   * The revision of this listing: a watch or change read started from it delivers exactly the changes
   * after it. At least the largest `version` listed.
   */
  revision: bigint;
}

/** A change to one entry, stamped with the revision it was committed at. */
export type ConfigChange =
  | { type: "put"; entry: ConfigRecord; revision: bigint }
  | { type: "delete"; key: string; revision: bigint };

/** What {@link ConfigDriver.changes} returns: as {@link ChangeBatch} for groups. */
export type ConfigChangeBatch =
  | { changes: ConfigChange[]; revision: bigint; more?: boolean }
  | { resync: string };

/**
 * The topic a driver names in a change hint (`Driver.changeHints`) for a change to configuration store
 * `store` (group names never start with `/`, so it cannot be taken for a group's).
 */
export function configHintTopic(store: string): string {
  return `/config/${store}`;
}

/** Callbacks of a configuration push watch. */
export interface ConfigWatchListener {
  /** A change, in commit order. Core ignores changes at or below the revision it has seen. */
  change(change: ConfigChange): void;
  /** Continuity was lost (reconnect, compaction): core closes the watch, re-lists and watches again. */
  resync(reason: string): void;
}

/**
 * The configuration primitive of a driver: named stores of persistent, versioned JSON entries that
 * belong to no session. Core validates every name, key, prefix and value before calling it, and owns the
 * watch iterators, views, resynchronisation and the public API (`coord.config(name)`).
 *
 * Writes are atomic: a rejected write (a version mismatch, a lost connection before the server applied
 * it) leaves nothing behind. Declare the store's durability in `characteristics.config`.
 */
export interface ConfigDriver {
  /** The entry, or `undefined` when the key has none. */
  get(store: string, key: string): Promise<ConfigRecord | undefined>;
  /**
   * Writes `value` under `key` and returns the entry as written, with its new version. With `ifVersion`
   * the write is a compare-and-set: `0n` only if the key is absent, otherwise only if its version is
   * exactly `ifVersion`; else it rejects with `versionMismatch()` naming the version found.
   */
  put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord>;
  /**
   * Deletes the entry; resolves `true` if there was one. With `ifVersion` (never `0n`), only if its
   * version is exactly that; else — including when the key is absent — rejects with `versionMismatch()`.
   */
  remove(store: string, key: string, ifVersion?: bigint): Promise<boolean>;
  /** Every entry whose key starts with `prefix` (`""`: all), consistently, with the revision. */
  list(store: string, prefix: string): Promise<ConfigListing>;
  /** The names of the stores that hold at least one entry, in any order. */
  stores(): Promise<string[]>;
  /**
   * Push watch: every change under `prefix` after `fromRevision`, in order. Implement this or
   * {@link changes}; with both, core uses the watch.
   */
  watch?(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle>;
  /** Poll: the ordered changes under `prefix` after `sinceRevision`, from a change log. */
  changes?(store: string, prefix: string, sinceRevision: bigint): Promise<ConfigChangeBatch>;
}
