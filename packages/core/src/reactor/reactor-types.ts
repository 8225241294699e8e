import type { Leadership } from "../api.js";
import type { LeaveReason, Metadata } from "../types.js";

/** A member incarnation that left the group and that a {@link Reactor} acts upon once. */
export interface Departure {
  /** The group it left. */
  group: string;
  /** The member id. */
  memberId: string;
  /** The incarnation's `seq` (a re-join is a new incarnation with a larger `seq`). */
  seq: bigint;
  /** The member's last metadata known to the reactor. */
  metadata: Metadata;
  /**
   * Why it left. `unknown` also for a departure found by comparing the stored membership with the current
   * one (it happened while no reactor was acting) or after a watch resync.
   */
  reason: LeaveReason;
  /** When the reactor saw it leave. */
  departedAt: Date;
  /**
   * The idempotency key: `<memberId>@<seq>`, unique per incarnation. Pass it to the side effects the handler
   * makes, so a repeated run (after the acting reactor died mid-handler) is recognised.
   */
  key: string;
}

/** What a {@link ReactorHandler} gets besides the departure. */
export interface ReactorContext {
  /** The fencing token of the reactor's leadership: pass it to the resources the handler writes. */
  token: bigint;
  /** Aborts when the leadership may be lost: stop the side effects. */
  signal: AbortSignal;
  /** 1 for the first run of this departure, then 2, 3… after failures (and after a failover). */
  attempt: number;
  /** The leadership the reactor acts under (its validity deadline, for guarding a child process). */
  leadership: Leadership;
}

/**
 * The corrective action: runs in the acting reactor only, once per departure recorded as done. Resolve
 * when done; throw to have it retried with backoff.
 */
export type ReactorHandler = (departure: Departure, context: ReactorContext) => Promise<void>;

/** The mass-failure brake of a {@link Reactor}. */
export interface BrakeOptions {
  /** Engage when more than this fraction of the group departs within {@link window}. Default 0.5. */
  fraction?: number;
  /** The window, in ms. Default: twice the session timeout. */
  window?: number;
}

/** Options of {@link Coordinator.reactor}. */
export interface ReactorOptions {
  /** The reactor's name: its election is `reactor.<name>`, its progress lives under `<name>/` in the `rollcall.reactor` configuration. Default: the group. */
  name?: string;
  /** Which leaves are departures. Default `["expired"]` (a leave of reason `unknown` counts as `expired`). */
  reasons?: ("expired" | "left")[];
  /**
   * Settling time in ms: a departure waits this long, and a member that re-joins (the same member id)
   * meanwhile cancels it. Default 0; the brake adds its own hold of half a session timeout, so a mass
   * failure is seen whole before the first action.
   */
  grace?: number;
  /** The mass-failure brake; `false` disables it. */
  brake?: BrakeOptions | false;
  /** Backoff of a failed handler, in ms. Default `{ initial: 1000, max: 30000 }`. */
  retry?: { initial?: number; max?: number };
}

/** The state of a {@link Reactor} in this process. */
export type ReactorState = "standby" | "acting" | "braked" | "closed";

/** The stored brake of a reactor (shared by every process). */
export interface BrakeStatus {
  /** Whether the brake holds the reactor. */
  engaged: boolean;
  /** When it engaged. */
  since: Date;
  /** How many departed within the window. */
  departures: number;
  /** The group's size before the window (members left + members departed). */
  size: number;
}

/**
 * Failure events acted upon by one fenced actor: see {@link Coordinator.reactor}. Events: `state`,
 * `handled`, `failed`, `braked`, `released`.
 */
export interface Reactor extends AsyncDisposable {
  /** The group watched. */
  readonly group: string;
  /** The reactor's name (its election is `reactor.<name>`). */
  readonly name: string;
  /** Standing by, acting (holds the election), braked (acting but held by the brake), or closed. */
  readonly state: ReactorState;
  /** The departures recorded but not yet handled (from the store: the same in every process). */
  pending(): Promise<Departure[]>;
  /** The stored brake, if it was ever engaged. */
  brake(): Promise<BrakeStatus | undefined>;
  /** Releases an engaged brake (operator's decision); resolves `true` if it was engaged. */
  release(): Promise<boolean>;
  /** The reactor's state changed. */
  on(event: "state", listener: (state: ReactorState) => void): this;
  /** A departure was handled and recorded (`ms`: the handler's run time). */
  on(event: "handled", listener: (departure: Departure, ms: number) => void): this;
  /** The handler threw; it runs again after `retryIn` ms. */
  on(
    event: "failed",
    listener: (departure: Departure, error: unknown, attempt: number, retryIn: number) => void,
  ): this;
  /** The brake engaged: no handler runs until it is released or the group recovers. */
  on(event: "braked", listener: (status: BrakeStatus) => void): this;
  /** The brake was released (`operator`) or the group recovered (`recovered`). */
  on(event: "released", listener: (by: "operator" | "recovered") => void): this;
  /** Removes a listener. */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of several shapes are removed by identity
  off(event: ReactorEvent, listener: (...args: any[]) => void): this;
  /** Stops acting and standing by (resigns the election). Idempotent. */
  close(): Promise<void>;
}

/** The events of {@link Reactor.on}. */
export type ReactorEvent = "state" | "handled" | "failed" | "braked" | "released";
