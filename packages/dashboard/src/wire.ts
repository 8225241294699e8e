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
    };

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
  | { type: "config-change"; name: string; change: WireConfigChange };

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
