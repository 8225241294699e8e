import type { Characteristics } from "../characteristics.js";
import type { LeaveReason, Logger, Member, Metadata } from "../types.js";
import type { ConfigDriver } from "./config-driver.js";
import type { ConnectionUrl } from "./connection-url.js";
import type { CommonKey, ParamSchema, ParamValues } from "./url-params.js";

/**
 * Everything a driver is created with. Core has already validated the URL, the common options and the
 * backend's own options (its {@link BackendDefinition.params} schema).
 * @typeParam S the backend's {@link ParamSchema}
 */
export interface DriverConfig<S extends ParamSchema = ParamSchema> {
  /**
   * The parsed URL; `url.params` holds only the backend's own query keys, as written (read their
   * checked values from {@link DriverConfig.options}).
   */
  url: ConnectionUrl;
  /**
   * The backend's own URL options, parsed, checked and defaulted by core. Set by `connect()` and
   * `createDriver()`; a config built by hand (in a test) may lack it — read it through
   * `driverOptions()` (`@rollcall/core/driver`), which parses `url` then.
   */
  options?: ParamValues<S>;
  /**
   * Which common keys ({@link COMMON_PARAMS}) the URL itself gave, e.g. to refuse a backend-specific
   * option that contradicts an explicit `sessionTimeout`. Set as {@link DriverConfig.options} is.
   */
  given?: ReadonlySet<CommonKey>;
  /** The coordinator's member id. */
  memberId: string;
  /** The namespace every key, znode, row or channel of this coordinator lives under. */
  namespace: string;
  /** Requested session timeout in ms (`sessionTimeout` in the URL, or the backend's default). */
  sessionTimeout: number;
  /** Logger; never log credentials. */
  logger: Logger;
  /** Upper bound, in bytes, of a member's serialized metadata. */
  maxMetadataBytes: number;
}

/**
 * A backend registered under one or more URL schemes. Backends call `registerBackend()` with this
 * when their module loads; core also resolves unregistered schemes lazily to `@rollcall/<name>`.
 */
export interface BackendDefinition<S extends ParamSchema = ParamSchema> {
  /** The backend's name, e.g. `"zookeeper"`; the same as `Coordinator.backend`. */
  name: string;
  /** URL schemes handled, without the colon, e.g. `["etcd", "etcds"]`. */
  schemes: string[];
  /** Default `sessionTimeout` (ms) when the URL has none. */
  defaultSessionTimeout: number;
  /** Default `retryInterval` (ms) when the URL has none. */
  defaultRetryInterval?: number;
  /** Default namespace when neither the URL path nor `namespace=` gives one. */
  defaultNamespace?: string;
  /** Whether the URL path is the namespace (ZooKeeper's chroot, Redis's db number is not). */
  pathIsNamespace?: boolean;
  /**
   * The backend's own query keys, as a schema (declare it with `defineParams()` from `@rollcall/core/driver`): core refuses any
   * other key (listing the known ones), checks each value, applies the defaults, warns once per
   * `connect()` about deprecated spellings, and hands the typed values to {@link create} as
   * `config.options`. Cross-key rules ("TLS keys need the TLS scheme") stay in the backend.
   *
   * A plain list of key names is still accepted (deprecated): those keys are allowed and reach the
   * driver as unchecked strings.
   */
  params?: S | readonly string[];
  /** Creates the driver. Must not do I/O: that belongs in {@link Driver.open}. */
  create(config: DriverConfig<S>): Driver;
}

/** Callbacks a driver uses to report its session to core. */
export interface SessionListener {
  /**
   * The session changed state. `suspended`: the server is unreachable but the session may be alive.
   * `connected`: reachable again with the *same* session. `expired`: the session is gone on the
   * server (or the driver has proof it will be before anyone could act on it); the driver's members
   * are gone and core will call {@link Driver.open} again after `retryInterval`.
   *
   * Who writes an expired session's `leave`: the backend, not this driver and not core. The server (a
   * ZooKeeper ephemeral node, an etcd lease, a Redis or SQL deadline that any live driver of the namespace
   * reaps) removes the session's members and every watcher sees a `leave` with reason `expired`; the driver
   * that lost the session does not write them (it may be partitioned away, or frozen) and core does not
   * re-write them after a re-open — it re-joins, which watchers see as a new incarnation (a new `seq`).
   */
  state(state: "connected" | "suspended" | "expired"): void;
  /**
   * The server acknowledged a request that was sent at `sentAt` (a `performance.now()` value), so the
   * session cannot expire on the server before `sentAt + sessionTimeout`. Core derives every
   * leadership's validity deadline from this; report it at least every `sessionTimeout / 3`.
   */
  renewed(sentAt: number): void;
}

/** A group's members with the revision they are current at. */
export interface GroupSnapshot {
  /** Members, in any order. */
  members: Member[];
  /**
   * The revision of this snapshot: a watch started from it delivers exactly the changes after it.
   * Revisions only grow, per group at least.
   */
  revision: bigint;
}

/** A change reported by a driver's watch or change log, stamped with its revision. */
export type DriverEvent =
  | { type: "join"; member: Member; revision: bigint }
  | { type: "update"; member: Member; revision: bigint }
  | { type: "leave"; memberId: string; reason: LeaveReason; revision: bigint };

/** Callbacks of a push watch. */
export interface WatchListener {
  /** A change, in order. Core ignores events at or below the revision it has already seen. */
  event(event: DriverEvent): void;
  /**
   * Continuity was lost (a reconnect that cannot resume, a compacted revision, a dropped
   * subscription). Core closes this watch, re-lists, reports the difference and watches again.
   */
  resync(reason: string): void;
}

/** A running push watch. */
export interface WatchHandle {
  /** Stops delivering; idempotent. */
  close(): Promise<void>;
}

/**
 * What {@link Driver.changes} returns: the ordered changes after a revision (with `more` when the batch
 * was cut short and core should ask again at once), or a request to re-list. `revision` is where the
 * next read starts: the log's head when the batch is complete, the last event's revision when it was
 * cut short (never a revision past an event not returned).
 */
export type ChangeBatch = { events: DriverEvent[]; revision: bigint; more?: boolean } | { resync: string };

/**
 * The small contract a backend implements. Core validates every argument before calling it and owns
 * the session state machine, re-join, views, elections, locks and partitioning.
 *
 * Errors: reject with a `RollcallError` (`GROUP_NOT_FOUND`, `GROUP_EXISTS`, `GROUP_NOT_EMPTY`,
 * `MEMBER_EXISTS`, `MEMBER_NOT_JOINED`, `CONNECTION`, `NOT_CONNECTED`, …); anything else is
 * wrapped by core as `CONNECTION`.
 */
export interface Driver {
  /** What this backend is. */
  readonly characteristics: Characteristics;
  /**
   * The session timeout in ms the server actually applies (ZooKeeper negotiates it, etcd rounds to
   * whole seconds). Read after `open()`.
   */
  readonly sessionTimeout: number;
  /**
   * Makes **one attempt** to open a new session and resolves once it is `connected`. Called at connect
   * and again after every `expired`; core retries, with backoff, until `connectTimeout` (or the
   * caller's signal) runs out, so a driver does not loop itself. A driver whose client library
   * reconnects by itself (ioredis, the ZooKeeper C client) may wait for it within `signal`.
   *
   * A failed attempt rejects with `openFailure()`: `unreachable` (transient: core tries again),
   * `refused` or `configuration` (permanent: `connect()` fails at once). Its message says what the
   * attempt saw (e.g. `connect ECONNREFUSED 127.0.0.1:2379`); core adds where it was connecting to and,
   * when time runs out, reports the last attempt's failure rather than the bare abort. Any other error
   * counts as transient. An attempt that `signal` cut short rejects with `signal.reason` itself (not
   * wrapped), so core can tell it from a failure of its own. Core scrubs the URL's password and the values
   * of the schema's secret keys from the failure's message, stack and `cause` chain before anyone sees it
   * (and adds the redacted URL) — a net for what a client library echoes; still keep secrets out of your
   * own messages, and out of errors of the other calls, which reach the caller as the driver made them.
   */
  open(listener: SessionListener, signal: AbortSignal): Promise<void>;
  /**
   * Ends the session gracefully: every member it holds leaves (reason `left` where the backend can
   * tell) and every connection is released. Idempotent.
   */
  close(): Promise<void>;
  /** Creates a group. `GROUP_EXISTS` if it exists. */
  createGroup(group: string): Promise<void>;
  /** Deletes an empty group. `GROUP_NOT_FOUND`, `GROUP_NOT_EMPTY`. */
  deleteGroup(group: string): Promise<void>;
  /** Every group in the namespace, including core's internal ones (names starting with `_`). */
  listGroups(): Promise<string[]>;
  /**
   * Adds `memberId` to `group`, bound to the current session (it disappears when the session ends).
   * Assigns `seq`. `GROUP_NOT_FOUND`, `MEMBER_EXISTS`.
   *
   * Safe to retry by the same session: when the member record already exists and belongs to *this*
   * driver's current session (an earlier join whose answer was lost — a timeout, a dropped
   * connection — had landed), resolve with that record and its original `seq`, its metadata replaced
   * by `metadata` if it differs (as {@link Driver.update} would, with the same event for watchers).
   * A record held by any other session — another process with the same member id, or an earlier,
   * dead session of this driver that the server has not expired yet — still rejects with
   * `MEMBER_EXISTS`. ({@link Driver.update} retried simply applies again; {@link Driver.leave}
   * retried after it landed rejects with `MEMBER_NOT_JOINED`, which core interprets.)
   */
  join(group: string, memberId: string, metadata: Metadata): Promise<Member>;
  /** Removes this session's member. `MEMBER_NOT_JOINED` if it is not there. */
  leave(group: string, memberId: string): Promise<void>;
  /** Replaces this session's member's metadata. `MEMBER_NOT_JOINED`. */
  update(group: string, memberId: string, metadata: Metadata): Promise<Member>;
  /** The group's live members and the revision they are current at. `GROUP_NOT_FOUND`. */
  members(group: string): Promise<GroupSnapshot>;
  /**
   * Push watch: deliver every change after `fromRevision`, in order. Required when
   * `characteristics.watch === "push"`, unless the driver is followed through {@link changes} on pushed
   * {@link changeHints} (see there).
   */
  watch?(group: string, fromRevision: bigint, listener: WatchListener): Promise<WatchHandle>;
  /**
   * Poll: the ordered changes after `sinceRevision`, from a change log. Required when
   * `characteristics.watch === "poll"`; core calls it every `pollInterval`.
   *
   * A group that does not exist (never created, or deleted) is not an error here: answer with whatever the
   * log holds after `sinceRevision` (a group is deleted only once empty, so its members' leaves come
   * first) and then an empty batch at the log's head. Do not reject with `GROUP_NOT_FOUND`: a feed keeps
   * polling until its watcher stops, and a group created again under the same name continues the log.
   */
  changes?(group: string, sinceRevision: bigint): Promise<ChangeBatch>;
  /**
   * Optional: resolves when the incarnation `seq` of `memberId` is no longer in `group` (already gone,
   * or replaced by a re-join with another `seq`, counts as gone). Used by elections to wait on the
   * predecessor only; without it core waits on the group's watch. Core also re-checks every
   * `sessionTimeout`, so a driver that misses a case delays a hand-over but never blocks it.
   */
  awaitGone?(group: string, memberId: string, signal: AbortSignal, seq?: bigint): Promise<void>;
  /**
   * Optional, for a driver that keeps a change log read with {@link changes} (and `configStore.changes`):
   * calls `listener` when something in the namespace may have changed (a NOTIFY, a pub/sub message, a
   * file notification), so core reads the log at once instead of at the next `pollInterval`. `topic`
   * names what changed when the driver knows — a group's name, or `configHintTopic(store)` for a
   * configuration store — and then only that group's or store's feeds read; without it, every feed does.
   * Core coalesces hints; spurious ones cost one read. Returns the unsubscription. Core subscribes when a
   * feed starts (the session is open by then); a subscription that throws is logged and the feed polls
   * without hints.
   *
   * A driver that declares `watch: "push"` and has no {@link watch} is followed through `changes()` on
   * its hints alone, with no polling: its hints must then be the server's push — one for every commit
   * (a NOTIFY sent in the committing transaction), and one without a topic once the hint channel is up
   * after `changeHints()` is called and after every gap in it (a reconnect), when hints may have been
   * lost. With `watch: "poll"`, hints are an optimisation: lost ones are caught by the next poll.
   */
  changeHints?(listener: (topic?: string) => void): () => void;
  /**
   * The configuration store (`coord.config(name)`): required unless `characteristics.config` is
   * `"none"`. Its entries belong to no session.
   */
  readonly configStore?: ConfigDriver;
}
