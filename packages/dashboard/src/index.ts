/**
 * The live web dashboard of rollcall: groups with their members and size over time, the event timeline
 * with leave reasons, elections and locks with their queues, configuration stores with their entries and
 * recent changes, reactors with their brake (a banner while it holds) and pending departures, and the
 * serving coordinator's session —
 * pushed to the page over server-sent events. A `node:http` request handler to mount in your own
 * server; `rollcall serve` runs it with `/metrics` and the health probes.
 * @packageDocumentation
 */

export {
  type DashboardHandler,
  type DashboardOptions,
  type DashboardStats,
  dashboardHandler,
} from "./dashboard-handler.js";
export type {
  WireConfig,
  WireConfigChange,
  WireConfigEntry,
  WireContest,
  WireDelta,
  WireGroup,
  WireMember,
  WireOwnership,
  WireReactor,
  WireReactorBrake,
  WireReactorEvent,
  WireReactorPending,
  WireServer,
  WireSnapshot,
  WireTimelineEntry,
} from "./wire.js";
