/**
 * The reactor scenario's commands, as a rollcall agent answers them after `connect` (see
 * `reactor-commands.ts`). A reactor agent reports what its reactors do as `{ event: "reactor", type, name,
 * …, at }` (host clock, ms):
 *
 * - `start`: the handler was entered (`key`, `memberId`, `attempt`, `token`, `reason`): the moment measured;
 * - `handled`: the departure was recorded as handled (`key`);
 * - `failed`: the handler threw (`key`, `attempt`, `message`) — the benchmark's handler never does;
 * - `state`: the reactor changed state (`state`: acting, braked, standby, closed); `acting` (or `braked`) is
 *   reported once the reactor won its election and fenced its stored record with its token, before it
 *   resumes the pending departures: after a failover, the moment the new actor took over;
 * - `braked` / `released`: the mass-failure brake engaged (`departures`, `size`) or was released (`by`).
 */

/** One reactor an agent starts on a coordinator: its name, and the options that differ from the defaults. */
export interface ReactorSpec {
  /** The reactor's name (its election is `reactor.<name>`). */
  name: string;
  /** Settling time in ms (default 0). */
  grace?: number;
  /** `false`: no mass-failure brake (and so no hold of half its window); absent: the default brake. */
  brake?: false;
}

/** `reactorStart`: `memberId`'s coordinator starts one reactor per spec on `group` (which must exist). */
export interface ReactorStartRequest {
  memberId: string;
  group: string;
  reactors: ReactorSpec[];
}

/** What `reactorStart` returns: each reactor's state once started (`standby` until elected). */
export interface ReactorStartResult {
  states: Record<string, string>;
}

/**
 * `reactorKnown`: waits until each reactor of `names` has recorded every member of `memberIds` in its stored
 * membership (`<name>/known/<memberId>` in the `rollcall.reactor` configuration), polling every `intervalMs`:
 * only a member the acting reactor knows is acted upon when it departs.
 */
export interface ReactorKnownRequest {
  memberId: string;
  names: string[];
  memberIds: string[];
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * `reactorWaitPending`: waits until the reactor `name` has stored a pending departure of `target` (polling
 * `reactorStatus()` every `intervalMs`); resolves with its key and when it was seen.
 */
export interface ReactorWaitPendingRequest {
  memberId: string;
  name: string;
  target: string;
  timeoutMs: number;
  intervalMs?: number;
}

/** What `reactorWaitPending` returns. */
export interface ReactorWaitPendingResult {
  key: string;
  at: number;
}

/** `reactorStatus`: what the reactor `name` has stored, read through `reactorStatus()` from any process. */
export interface ReactorStatusRequest {
  memberId: string;
  name: string;
}

/** What `reactorStatus` returns: the fencing token, whether braked, the pending departures' keys. */
export interface ReactorStatusResult {
  token: string;
  braked: boolean;
  pending: string[];
}
