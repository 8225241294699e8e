/** A JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A member's metadata (tooz's "capabilities"): a JSON object, validated in core and limited to the
 * same size on every backend (64 KiB by default, `maxMetadataBytes` in the URL lowers it).
 */
export type Metadata = { [key: string]: Json };

/** A member of a group as every reader sees it. */
export interface Member {
  /** The member id: the `memberId` of the coordinator that joined. */
  id: string;
  /** The group this record belongs to. */
  group: string;
  /** The member's metadata. */
  metadata: Metadata;
  /**
   * Visible-order number assigned by the backend at join: a member that any reader can see later
   * always has a larger `seq` than every member already visible. Elections, locks and fencing
   * tokens are built on it.
   */
  seq: bigint;
  /** When this incarnation of the member joined. */
  joinedAt: Date;
  /** When its metadata last changed (equals `joinedAt` until the first update). */
  updatedAt: Date;
}

/** Why a member left a group. `unknown` where the backend cannot tell, or after a resync. */
export type LeaveReason = "left" | "expired" | "unknown";

/**
 * An event of {@link Coordinator.watch}: first a `snapshot`, then `join` / `update` / `leave` in
 * the order they happened. After a resync (reconnect, lost continuity) the changes missed are
 * reported as events marked `resync: true` (leave reason `unknown`; joins in `seq` order among
 * themselves, but possibly below a `seq` delivered before the gap, since they were found by re-listing
 * rather than seen as they happened), followed by a fresh `snapshot`.
 */
export type MembershipEvent =
  | { type: "snapshot"; group: string; members: Member[] }
  | { type: "join"; group: string; member: Member; resync?: true }
  | { type: "update"; group: string; member: Member; resync?: true }
  | { type: "leave"; group: string; memberId: string; reason: LeaveReason; resync?: true };

/**
 * The state of a coordinator's session.
 * - `connected` — the session is alive and the backend reachable.
 * - `suspended` — the backend is unreachable, or no renewal has been acknowledged for ¾ of the session
 *   timeout (a partition drops packets without closing any connection); the session may still be
 *   alive on the server. Leaderships are given up at this point. Back to `connected` when a renewal
 *   gets through; `expired` once the driver concludes the server has ended the session.
 * - `expired` — the session ended on the server; memberships are gone until core re-joins.
 * - `closed` — `close()` was called; terminal.
 */
export type SessionState = "connected" | "suspended" | "expired" | "closed";

/** A pino-compatible logger. Messages and fields never contain credentials. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One entry of a configuration store (`coord.config(name)`). */
export interface ConfigEntry {
  /** The key: segments separated by `/`, e.g. `scheduler/max_attempts`. */
  key: string;
  /** The value (any JSON). */
  value: Json;
  /**
   * The entry's version, set by the backend at every write: it only grows for a key — also across a
   * delete and a re-create — and is never `0n`. Pass it as `ifVersion` for a compare-and-set.
   */
  version: bigint;
  /** When the value was written. */
  updatedAt: Date;
}

/** A consistent snapshot of a configuration store (under a prefix), with the revision it is at. */
export interface ConfigSnapshot {
  /** The entries, sorted by key. */
  entries: ConfigEntry[];
  /** The store's revision at the snapshot: at least every `version` in it. */
  revision: bigint;
}

/**
 * An event of `Configuration.watch()`: first a `snapshot`, then `put` / `delete` in the order the
 * backend committed them; a key's `version` only grows from one event to the next. After lost
 * continuity (a reconnect, a compaction) the changes missed are reported as events marked
 * `resync: true` — the latest value of each changed key, not every intermediate one — followed by a
 * fresh `snapshot`.
 */
export type ConfigEvent =
  | { type: "snapshot"; config: string; entries: ConfigEntry[]; revision: bigint }
  | { type: "put"; config: string; entry: ConfigEntry; resync?: true }
  | { type: "delete"; config: string; key: string; revision: bigint; resync?: true };
