import type { Characteristics } from "./characteristics.js";
import type { Reactor, ReactorHandler, ReactorOptions } from "./reactor/reactor-types.js";
import type {
  ConfigEntry,
  ConfigEvent,
  ConfigSnapshot,
  Json,
  Logger,
  Member,
  MembershipEvent,
  Metadata,
  SessionState,
} from "./types.js";

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** This process's identity in every group it joins: 1–128 characters of `[A-Za-z0-9._:@-]`. */
  memberId: string;
  /** Characteristics the backend must have, e.g. `{ watch: "push", scope: "cluster" }`; else `CHARACTERISTIC_MISMATCH`. */
  require?: Partial<Characteristics>;
  /** Abandons connecting. */
  signal?: AbortSignal;
  /** Receives the coordinator's log lines; silent by default. */
  logger?: Logger;
}

/** Options of {@link Coordinator.join}. */
export interface JoinOptions {
  /** The member's metadata (capabilities). */
  metadata?: Metadata;
  /** Create the group if it does not exist (instead of `GROUP_NOT_FOUND`). */
  createGroup?: boolean;
}

/** Options of {@link Coordinator.watch}. */
export interface WatchOptions {
  /** Ends the iteration cleanly when aborted. */
  signal?: AbortSignal;
}

/** Options of {@link Coordinator.election}. */
export interface ElectionOptions {
  /** How many candidates hold a seat at once (N-of-M active/standby). Default 1. */
  seats?: number;
  /** Metadata of this candidate, visible in `leaders()`. */
  metadata?: Metadata;
}

/** The events of {@link Coordinator.on}. */
export type CoordinatorEvent = "session" | "rejoined" | "renewed" | "leadership" | "lockAcquired";

/** What the `"leadership"` event of {@link Coordinator.on} reports. */
export interface LeadershipChange {
  /** `"election"` for a seat of {@link Coordinator.election}, `"lock"` for a lock of {@link Coordinator.lock}. */
  kind: "election" | "lock";
  /** The election or lock name. */
  name: string;
  /** The leadership's fencing token ({@link Leadership.token}). */
  token: bigint;
  /** `elected`: the seat is held from now on; `ended`: the leadership ended (its signal aborted). */
  state: "elected" | "ended";
  /** For `ended`: why, in words (e.g. `resigned`, `the session is suspended`). */
  reason?: string;
}

/**
 * A coordinator: one session with one backend, as one member id. Created by {@link connect}.
 * Every method validates its arguments before any I/O.
 */
export interface Coordinator extends AsyncDisposable {
  /** The member id this coordinator joins groups as. */
  readonly memberId: string;
  /** The backend's name: `"memory"`, `"zookeeper"`, `"etcd"`, `"redis"`, `"postgresql"`, … */
  readonly backend: string;
  /** What the backend is. */
  readonly characteristics: Characteristics;
  /** The session's current state. */
  readonly state: SessionState;
  /** The session timeout in ms the backend applies (after negotiation or rounding). */
  readonly sessionTimeout: number;
  /** Session state changes. */
  on(event: "session", listener: (state: SessionState, previous: SessionState) => void): this;
  /** After a session was re-opened: the groups re-joined. */
  on(event: "rejoined", listener: (groups: string[]) => void): this;
  /**
   * The backend acknowledged a request that renewed the session: `roundTrip` is the time in ms from
   * sending it to its acknowledgment (`performance.now()` based). Drivers report at least every
   * `sessionTimeout / 3`; some (ZooKeeper) report every acknowledged request.
   */
  on(event: "renewed", listener: (roundTrip: number) => void): this;
  /**
   * A seat of an election, or a lock, that this coordinator holds began (`elected`) or ended
   * (`ended`, when its {@link Leadership.signal} aborted). Emitted before `campaign()` / `acquire()`
   * resolve, and for seats regained without a waiting `campaign()`.
   */
  on(event: "leadership", listener: (change: LeadershipChange) => void): this;
  /** A lock was acquired (`acquire()` or a successful `tryAcquire()`) after `waited` ms. */
  on(event: "lockAcquired", listener: (name: string, waited: number, token: bigint) => void): this;
  /** Removes a listener. */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of several shapes are removed by identity
  off(event: CoordinatorEvent, listener: (...args: any[]) => void): this;

  /** Creates a group. `GROUP_EXISTS`. */
  createGroup(group: string): Promise<void>;
  /** Deletes an empty group. `GROUP_NOT_FOUND`, `GROUP_NOT_EMPTY`. */
  deleteGroup(group: string): Promise<void>;
  /** Every group, sorted. */
  groups(): Promise<string[]>;
  /**
   * The names of every election that exists in the namespace (any coordinator ever campaigned in it),
   * sorted. `groups()` does not list elections; this does, for dashboards and tools.
   */
  elections(): Promise<string[]>;
  /** The names of every lock that exists in the namespace (any coordinator ever tried to take it), sorted. */
  locks(): Promise<string[]>;

  /** Joins a group as {@link memberId}, for as long as the session lives (and again after re-join). `GROUP_NOT_FOUND`, `MEMBER_EXISTS`. */
  join(group: string, options?: JoinOptions): Promise<Member>;
  /** Leaves a group. `MEMBER_NOT_JOINED`. */
  leave(group: string): Promise<void>;
  /** The group's live members, sorted by `seq`. `GROUP_NOT_FOUND`. */
  members(group: string): Promise<Member[]>;
  /** One member. `MEMBER_NOT_FOUND` (or `GROUP_NOT_FOUND`). */
  member(group: string, memberId: string): Promise<Member>;
  /** Replaces this member's metadata in a group. `MEMBER_NOT_JOINED`. */
  updateMetadata(group: string, metadata: Metadata): Promise<Member>;

  /**
   * The group's changes: a `snapshot` first, then `join` / `update` / `leave` in order. Ends cleanly
   * on `signal` or `break`. After a reconnect the missed changes are reported and a new snapshot
   * follows. `GROUP_NOT_FOUND` is thrown by the first `next()`.
   */
  watch(group: string, options?: WatchOptions): AsyncIterable<MembershipEvent>;
  /** A live, cached membership of the group; resolves once the first snapshot is in. */
  view(group: string): Promise<GroupView>;

  /** An election (one seat by default, or `seats` for N-of-M). */
  election(name: string, options?: ElectionOptions): Election;
  /** The current first seat holder of an election, if any. */
  leader(name: string): Promise<Member | undefined>;
  /** A lock: an election with one seat. */
  lock(name: string): Lock;

  /**
   * A named configuration store in the namespace: persistent, versioned JSON entries with
   * compare-and-set, consistent snapshots and an ordered watch. Entries belong to no session: they
   * survive this coordinator's expiry and `close()`. The name follows the group-name rule;
   * `NOT_SUPPORTED` when the backend has no configuration store (`characteristics.config === "none"`).
   */
  config(name: string): Configuration;
  /** The names of the configuration stores that hold entries, sorted. */
  configs(): Promise<string[]>;

  /**
   * Failure events drive corrective actions: `handler` runs in one process across the cluster — the one
   * holding the election `reactor.<name>`; the others stand by — once for every member incarnation that
   * left `group` (by default by expiry only), including departures that happened while no reactor
   * acted. Progress is kept in the `rollcall.reactor` configuration and recorded by compare-and-set
   * fenced with the leadership's token: recording is exactly-once, the handler's side effects are
   * at-least-once (a reactor that dies mid-handler is followed by one that runs it again), hence the
   * departure's idempotency `key` and the `token` to pass on. Resolves once the reactor stands by;
   * `GROUP_NOT_FOUND`, `INVALID_ARGUMENT`, `NOT_SUPPORTED` (no configuration store) before anything is written.
   */
  reactor(group: string, handler: ReactorHandler, options?: ReactorOptions): Promise<Reactor>;

  /** Leaves every group, resigns, releases every lock, ends the session. Idempotent. */
  close(): Promise<void>;
}

/** A live, cached membership of one group, kept current by a watch. Reads do no I/O. */
export interface GroupView extends AsyncDisposable {
  /** The group. */
  readonly group: string;
  /** How many members are up. */
  readonly size: number;
  /** The members, sorted by `seq`. */
  members(): Member[];
  /** Whether the member is up, in O(1) and without I/O. */
  has(memberId: string): boolean;
  /** Same as {@link has}: Nova's word. */
  isUp(memberId: string): boolean;
  /** The member's current record, if up. */
  get(memberId: string): Member | undefined;
  /** Every change applied to the view (a `snapshot` after a resync). */
  on(event: "change", listener: (event: MembershipEvent) => void): this;
  /** Removes a change listener. */
  off(event: "change", listener: (event: MembershipEvent) => void): this;
  /** Stops watching. */
  close(): Promise<void>;
}

/** Options of {@link Election.campaign}. */
export interface CampaignOptions {
  /** Gives up the campaign (the candidacy is withdrawn) and rejects with the abort reason. */
  signal?: AbortSignal;
}

/**
 * An election built on the backend's `seq`: the candidates with the lowest `seq` hold the seats,
 * each waiting candidate waits on its predecessor only. A candidacy stays in the election (and is
 * re-entered after a session expiry) until `resign()` or `close()`.
 */
export interface Election {
  /** The election's name. */
  readonly name: string;
  /** Number of seats. */
  readonly seats: number;
  /**
   * Enters the election (if not already a candidate) and resolves when this candidate holds a seat.
   * After a leadership was lost, call again to wait for the next one. Rejects at once with
   * `ALREADY_HELD` while this coordinator holds a seat (resign first); concurrent calls while waiting
   * share the one candidacy and resolve with the same leadership.
   */
  campaign(options?: CampaignOptions): Promise<Leadership>;
  /** Current seat holders, in `seq` order. */
  leaders(): Promise<Member[]>;
  /** Every candidate, seat holders first, in `seq` order (the seat holders are the first `seats`). */
  candidates(): Promise<Member[]>;
  /** The seat holders now, then every time they change. */
  observe(options?: { signal?: AbortSignal }): AsyncIterable<Member[]>;
  /**
   * Every candidate in `seq` order (seat holders first, as {@link candidates}) now, then every time the
   * queue changes: a candidate enters, leaves or moves. Ends cleanly on `signal` or `break`.
   */
  observeCandidates(options?: { signal?: AbortSignal }): AsyncIterable<Member[]>;
}

/**
 * A held seat (or lock). Its `signal` aborts when leadership *may* be lost — the session was
 * suspended or expired, the local monotonic clock passed the point where the server could expire the
 * session, the candidacy vanished, or `resign()` — always before another candidate can be elected.
 * By the time a listener runs, the state may have changed again: check {@link isValid} before each
 * unit of work and pass {@link token} to the resources you write.
 */
export interface Leadership extends AsyncDisposable {
  /** The election or lock name. */
  readonly name: string;
  /** Fencing token: the holder's `seq`; it only grows across successive holders. */
  readonly token: bigint;
  /** Aborts when leadership may be lost. */
  readonly signal: AbortSignal;
  /** When this leadership began. */
  readonly electedAt: Date;
  /**
   * The wall-clock time after which this leadership is no longer valid unless the session is renewed
   * before then; moves forward with every renewal.
   */
  readonly validUntil: Date;
  /** Synchronous: false once the signal aborted or the validity deadline passed. No I/O, no timer needed. */
  isValid(): boolean;
  /** Gives the seat up (and withdraws the candidacy). Idempotent. */
  resign(): Promise<void>;
}

/** A lock: an election with one seat; the {@link Leadership} is the held lock. */
export interface Lock {
  /** The lock's name. */
  readonly name: string;
  /**
   * Waits for the lock; `TIMEOUT` after `timeout` ms; the signal abandons waiting. Not re-entrant:
   * rejects at once with `ALREADY_HELD` while this coordinator holds the lock or is already acquiring it.
   */
  acquire(options?: { timeout?: number; signal?: AbortSignal }): Promise<Leadership>;
  /**
   * Takes the lock if it is free right now, else resolves `undefined`. `ALREADY_HELD` while this
   * coordinator holds the lock or is acquiring it.
   */
  tryAcquire(): Promise<Leadership | undefined>;
  /** Who holds the lock now, on any coordinator; `undefined` when it is free. Its `seq` is the fencing token. */
  holder(): Promise<Member | undefined>;
  /** The holder first, then the waiters in the order they will get the lock (`seq` order). */
  candidates(): Promise<Member[]>;
  /** The holder and waiters ({@link candidates}) now, then every time they change. Ends on `signal` or `break`. */
  observeCandidates(options?: { signal?: AbortSignal }): AsyncIterable<Member[]>;
}

/** Options of {@link Configuration.set} and {@link Configuration.delete}. */
export interface ConfigWriteOptions {
  /**
   * Compare-and-set: write only if the key is at exactly this version (`0n`: only if the key is absent;
   * not allowed for `delete`). Otherwise `VERSION_MISMATCH`, naming the version found, and nothing changes.
   */
  ifVersion?: bigint;
}

/** Options of {@link Configuration.entries} and {@link Configuration.view}. */
export interface ConfigReadOptions {
  /** Only keys that start with this (e.g. `scheduler/`); all keys by default. */
  prefix?: string;
}

/** Options of {@link Configuration.watch}. */
export interface ConfigWatchOptions extends ConfigReadOptions {
  /** Ends the iteration cleanly when aborted. */
  signal?: AbortSignal;
}

/**
 * A named configuration store ({@link Coordinator.config}). Keys are segments of the group-name rule
 * joined by `/`; values are any JSON up to the metadata size limit. Every method validates its arguments
 * before any I/O; a rejected write leaves nothing behind.
 */
export interface Configuration {
  /** The store's name. */
  readonly name: string;
  /** The entry under `key`, or `undefined`. */
  get(key: string): Promise<ConfigEntry | undefined>;
  /** Writes `value` under `key` and resolves with its new version. `VERSION_MISMATCH` with `ifVersion`. */
  set(key: string, value: Json, options?: ConfigWriteOptions): Promise<bigint>;
  /**
   * Deletes the entry; resolves `true` if there was one. With `ifVersion`, `VERSION_MISMATCH` when the
   * entry is at another version or absent.
   */
  delete(key: string, options?: ConfigWriteOptions): Promise<boolean>;
  /** A consistent snapshot of the entries (under `prefix`), sorted by key, with its revision. */
  entries(options?: ConfigReadOptions): Promise<ConfigSnapshot>;
  /**
   * The entries now (a `snapshot`), then every `put` and `delete` in commit order; resynchronises after
   * a reconnect or a compaction (see {@link ConfigEvent}). Ends cleanly on `signal` or `break`.
   */
  watch(options?: ConfigWatchOptions): AsyncIterable<ConfigEvent>;
  /** A live, cached copy of the entries (under `prefix`); resolves once the first snapshot is in. */
  view(options?: ConfigReadOptions): Promise<ConfigView>;
}

/** A live, cached configuration (under a prefix), kept current by a watch. Reads do no I/O. */
export interface ConfigView extends AsyncDisposable {
  /** The store's name. */
  readonly name: string;
  /** The prefix the view covers (`""`: every key). */
  readonly prefix: string;
  /** How many entries there are. */
  readonly size: number;
  /** The revision the view is current at. */
  readonly revision: bigint;
  /** The entry under `key`, if any. */
  get(key: string): ConfigEntry | undefined;
  /** The value under `key`, or `fallback` (default `undefined`) when there is none. */
  value<T extends Json = Json>(key: string, fallback?: T): T | undefined;
  /** Whether there is an entry under `key`. */
  has(key: string): boolean;
  /** The entries, sorted by key. */
  entries(): ConfigEntry[];
  /** Every change applied to the view (a `snapshot` after a resync). */
  on(event: "change", listener: (event: ConfigEvent) => void): this;
  /** Removes a change listener. */
  off(event: "change", listener: (event: ConfigEvent) => void): this;
  /** Stops watching. */
  close(): Promise<void>;
}
