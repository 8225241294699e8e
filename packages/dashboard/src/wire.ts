import type {
  Characteristics,
  ConfigEntry,
  Json,
  LeaveReason,
  Member,
  Metadata,
  SessionState,
} from "@rollcall/core";

/** A member as the page receives it: JSON-safe (`seq` as a decimal string, times in epoch ms). */
export interface WireMember {
  id: string;
  seq: string;
  metadata: Metadata;
  joinedAt: number;
  updatedAt: number;
}

/** One group: its members (snapshot only) and its size history as `[epoch ms, size]` samples. */
export interface WireGroup {
  name: string;
  members: WireMember[];
  history: [number, number][];
  /** The `HashRing` owner of each sample key (`null`: nobody), when sample keys are configured. */
  ownership: WireOwnership | null;
}

/** `[key, owner]` pairs: who a consistent hash ring of the group's members gives each sample key. */
export type WireOwnership = [string, string | null][];

/**
 * An election or a lock. `candidates` are in `seq` order; the first `seats` hold a seat (the lock's
 * holder), the rest wait. `since` is when the dashboard saw the current first seat holder take it;
 * `sinceExact` is false when it already held it when the dashboard started watching (then the time
 * in office is at least `now - since`). `transitions` counts changes of the first seat holder seen.
 */
export interface WireContest {
  name: string;
  seats: number;
  candidates: WireMember[];
  since: number | null;
  sinceExact: boolean;
  transitions: number;
}

/** A configuration entry as the page receives it: `version` as a decimal string, the time in epoch ms. */
export interface WireConfigEntry {
  key: string;
  value: Json;
  version: string;
  updatedAt: number;
}

/**
 * A change of a configuration seen by the dashboard: `at` is when it saw it. `resync: true` marks the
 * latest value of a key that changed while the watch had lost continuity (intermediate values missed).
 */
export type WireConfigChange =
  | {
      at: number;
      kind: "put";
      key: string;
      value: Json;
      version: string;
      updatedAt: number;
      resync?: true;
    }
  | { at: number; kind: "delete"; key: string; revision: string; resync?: true };

/** A configuration store: its entries (sorted by key) and the changes seen, newest first (bounded). */
export interface WireConfig {
  name: string;
  entries: WireConfigEntry[];
  history: WireConfigChange[];
}

/** The mass-failure brake of a reactor, as stored (times in epoch ms, `null` when unreadable or unset). */
export interface WireReactorBrake {
  /** Whether it holds the reactor: nothing is acted upon until it is released. */
  engaged: boolean;
  /** When it engaged. */
  since: number | null;
  /** How many members departed within the window. */
  departures: number;
  /** The group's size before the window (members left + members departed). */
  size: number;
  /** When it was last released (by an operator or because the group recovered). */
  releasedAt: number | null;
}

/** A departure a reactor recorded and has not handled yet, as stored. */
export interface WireReactorPending {
  /** The idempotency key, `<memberId>@<seq>`. */
  key: string;
  memberId: string;
  seq: string;
  reason: LeaveReason;
  /** When the reactor saw it leave (epoch ms; `null` when unreadable). */
  departedAt: number | null;
  /** Handler runs started so far (the reactor stores each before it runs): 0 while it waits out the grace, the brake's hold or the brake. */
  attempts: number;
  /**
   * The latest run started and has not failed: it runs, or its actor died mid-run (the next actor
   * runs it again).
   */
  running: boolean;
  /**
   * The message of the last run that failed (at most 500 characters, as stored), kept while the next run
   * goes; `null` while none failed (as far as this dashboard saw).
   */
  lastError: string | null;
  /** When the record was last written: a run's start or its failure. */
  updatedAt: number;
}

/**
 * A reactor (`coord.reactor()`), from what it stores in the `rollcall.reactor` configuration: the fencing
 * token of the last actor to take over, the brake, and the departures not yet handled — those whose
 * handler failed first (most attempts first), then the oldest; at most a bounded number of them, out of
 * `pendingCount`. Who acts now is the holder of the election `election` (`reactor.<name>`).
 */
export interface WireReactor {
  name: string;
  /** The reactor's election: its holder is the acting process. */
  election: string;
  /** The fencing token the last actor recorded when it took over (decimal). */
  token: string;
  /** The stored brake; `null` if it never engaged. */
  brake: WireReactorBrake | null;
  pending: WireReactorPending[];
  /** How many departures are pending in all (`pending` may show fewer). */
  pendingCount: number;
}

/**
 * What happened to a reactor, as its stored state shows it: the brake `braked` or `released`; a departure
 * recorded (`departed`), its handler `failed` (retried), `handled` (recorded as done) or `cancelled`
 * (no longer pending without being done: the member came back).
 */
export interface WireReactorEvent {
  at: number;
  kind: "reactor";
  /** The reactor's name. */
  name: string;
  event: "braked" | "released" | "departed" | "failed" | "handled" | "cancelled";
  /** The departure's idempotency key (`null` for the brake). */
  key: string | null;
  /** What the operator reads: the failure's message, the brake's count. */
  detail: string | null;
}

/** A line of the event timeline. */
export type WireTimelineEntry =
  | { at: number; kind: "join" | "update"; group: string; memberId: string; seq: string }
  | { at: number; kind: "leave"; group: string; memberId: string; reason: LeaveReason }
  | { at: number; kind: "resync"; group: string; size: number }
  | {
      at: number;
      kind: "leader";
      contest: "election" | "lock";
      name: string;
      holder: string | null;
      token: string | null;
    }
  | WireReactorEvent;

/** The serving coordinator. `label` is the redacted backend URL or a name; never a credential. */
export interface WireServer {
  label: string;
  backend: string;
  memberId: string;
  sessionTimeout: number;
  session: SessionState;
  /** Since when the session is in its current state (epoch ms). */
  sessionSince: number;
  /** The last renewal round trip in ms, when the backend reports renewals. */
  roundTrip: number | null;
  startedAt: number;
  /** The backend's configuration store: `none` — there is none, and the page shows no configuration. */
  config: Characteristics["config"];
}

/** Everything the page needs on connect (and on every reconnect). */
export interface WireSnapshot {
  type: "snapshot";
  now: number;
  server: WireServer;
  groups: WireGroup[];
  elections: WireContest[];
  locks: WireContest[];
  timeline: WireTimelineEntry[];
  /** The configuration stores that hold entries (empty when the backend has none). */
  configs: WireConfig[];
  /** The reactors found in the `rollcall.reactor` configuration, by name. */
  reactors: WireReactor[];
  /** Members (and configuration entries) shown per page of a table. */
  pageSize: number;
  /** Changes kept per configuration store's history. */
  configHistoryLength: number;
}

/** A change after the snapshot. */
export type WireDelta =
  | { type: "session"; at: number; state: SessionState; previous: SessionState }
  | { type: "renewed"; roundTrip: number }
  | { type: "group-added"; group: WireGroup }
  | { type: "group-removed"; name: string }
  | { type: "ownership"; group: string; ownership: WireOwnership }
  | { type: "group-snapshot"; at: number; name: string; members: WireMember[] }
  | { type: "join" | "update"; at: number; group: string; member: WireMember }
  | { type: "leave"; at: number; group: string; memberId: string; reason: LeaveReason }
  | { type: "election" | "lock"; at: number; contest: WireContest }
  | { type: "election-removed" | "lock-removed"; name: string }
  | { type: "config-added"; config: WireConfig }
  | { type: "config-removed"; name: string }
  | { type: "config-snapshot"; at: number; name: string; entries: WireConfigEntry[] }
  | { type: "config-change"; name: string; change: WireConfigChange }
  | { type: "reactor"; at: number; reactor: WireReactor }
  | { type: "reactor-removed"; name: string }
  | { type: "reactor-event"; entry: WireReactorEvent };

/** The JSON form of a member. */
export function wireMember(member: Member): WireMember {
  return {
    id: member.id,
    seq: member.seq.toString(),
    metadata: member.metadata,
    joinedAt: member.joinedAt.getTime(),
    updatedAt: member.updatedAt.getTime(),
  };
}

/** The JSON form of a configuration entry. */
export function wireConfigEntry(entry: ConfigEntry): WireConfigEntry {
  return {
    key: entry.key,
    value: entry.value,
    version: entry.version.toString(),
    updatedAt: entry.updatedAt.getTime(),
  };
}
