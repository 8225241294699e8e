import {
  type Coordinator,
  type GroupView,
  type LeadershipChange,
  type MembershipEvent,
  RollcallError,
  type SessionState,
  validateGroupName,
} from "@rollcall/core";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { bucketsOption, checkNamesFree, prefixOption, registryOption } from "./metric-options.js";

/** The prefix of every metric name unless {@link CoordinatorMetricsOptions.prefix} says otherwise. */
export const DEFAULT_PREFIX = "rollcall_";

/** Buckets (seconds) of the renewal round-trip histogram: 1 ms to 5 s. */
export const RENEWAL_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** Buckets (seconds) of the lock wait histogram: 1 ms to 30 min. */
export const LOCK_WAIT_BUCKETS: readonly number[] = [
  0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800,
];

/** A metric {@link coordinatorMetrics} registers. */
export interface MetricDefinition {
  /** The Prometheus type. */
  readonly type: "gauge" | "counter" | "histogram";
  /** Its label names (never a member id). */
  readonly labels: readonly string[];
  /** The HELP text served with it. */
  readonly help: string;
}

/**
 * Every metric {@link coordinatorMetrics} registers, by name without the prefix (`rollcall_` by
 * default): its type, labels and help text.
 */
export const METRICS = {
  /** `rollcall_backend_info{backend}` (gauge): 1, labelled with the backend in use. */
  backend_info: {
    type: "gauge",
    labels: ["backend"],
    help: "1, labelled with the backend this process's coordinator uses (memory, zookeeper, etcd, redis, postgresql, mysql, sqlite).",
  },
  /** `rollcall_session_state{state}` (gauge): 1 for the current session state, 0 for the other three; read when scraped. */
  session_state: {
    type: "gauge",
    labels: ["state"],
    help: "1 for the coordinator's current session state (connected, suspended, expired, closed), 0 for the others.",
  },
  /** `rollcall_session_timeout_seconds` (gauge): the session timeout the backend applies. */
  session_timeout_seconds: {
    type: "gauge",
    labels: [],
    help: "The session timeout the backend applies, in seconds: a crashed member disappears within it.",
  },
  /** `rollcall_session_suspensions_total` (counter): times the session became `suspended`. */
  session_suspensions_total: {
    type: "counter",
    labels: [],
    help: "Times the session became suspended (backend unreachable or no renewal for 3/4 of the timeout); leaderships end then.",
  },
  /** `rollcall_session_expirations_total` (counter): times the session `expired` on the server. */
  session_expirations_total: {
    type: "counter",
    labels: [],
    help: "Times the session expired on the server: memberships were lost until the coordinator re-joined.",
  },
  /** `rollcall_session_rejoins_total` (counter): re-join rounds after a re-opened session (the `rejoined` event). */
  session_rejoins_total: {
    type: "counter",
    labels: [],
    help: "Re-join rounds after an expired session was re-opened (each re-joins every group the process had joined).",
  },
  /** `rollcall_session_renewal_round_trip_seconds` (histogram): round trip of each renewal (the `renewed` event). */
  session_renewal_round_trip_seconds: {
    type: "histogram",
    labels: [],
    help: "Round trip of the requests that renewed the session (heartbeats, keep-alives, pings), in seconds.",
  },
  /** `rollcall_group_members{group}` (gauge): live members of a group as this process's view sees them; read when scraped. */
  group_members: {
    type: "gauge",
    labels: ["group"],
    help: "Live members of a group, as seen by the view this process holds of it.",
  },
  /** `rollcall_membership_events_total{group,type,reason}` (counter): join / update / leave events seen; `reason` on leaves only. */
  membership_events_total: {
    type: "counter",
    labels: ["group", "type", "reason"],
    help: "Membership events seen by this process's views: type join, update or leave; reason (leave only) left, expired or unknown.",
  },
  /** `rollcall_election_leader{election}` (gauge): 1 while this process holds a seat. */
  election_leader: {
    type: "gauge",
    labels: ["election"],
    help: "1 while this process holds a seat of the election, else 0.",
  },
  /** `rollcall_election_fencing_token{election}` (gauge): token of the seat held, or last held (exact up to 2^53). */
  election_fencing_token: {
    type: "gauge",
    labels: ["election"],
    help: "Fencing token of the seat this process holds, or last held, in the election (exact up to 2^53).",
  },
  /** `rollcall_election_transitions_total{election,transition}` (counter): seats gained (`elected`) and lost or resigned (`ended`). */
  election_transitions_total: {
    type: "counter",
    labels: ["election", "transition"],
    help: "Leadership transitions of this process in the election: transition elected (a seat gained) or ended (lost or resigned).",
  },
  /** `rollcall_lock_held{lock}` (gauge): 1 while this process holds the lock. */
  lock_held: { type: "gauge", labels: ["lock"], help: "1 while this process holds the lock, else 0." },
  /** `rollcall_lock_wait_seconds{lock}` (histogram): time from asking for the lock to holding it (the `lockAcquired` event). */
  lock_wait_seconds: {
    type: "histogram",
    labels: ["lock"],
    help: "Time from asking for the lock (acquire or a successful tryAcquire) to holding it, in seconds.",
  },
} as const satisfies Record<string, MetricDefinition>;

/** The name of a metric of {@link METRICS}, without the prefix. */
export type MetricName = keyof typeof METRICS;

const SESSION_STATES: readonly SessionState[] = ["connected", "suspended", "expired", "closed"];

/** Options of {@link coordinatorMetrics}. */
export interface CoordinatorMetricsOptions {
  /** The `prom-client` registry to register in; nothing is registered in the global one. */
  registry: Registry;
  /** Prefix of every metric name (default `rollcall_`); another one lets a second coordinator share the registry. */
  prefix?: string;
  /**
   * Groups to open a view of (shared with any view the application holds of the same group, so no
   * second watch): their sizes and events are reported. More with {@link CoordinatorMetrics.watchGroup}
   * or {@link CoordinatorMetrics.trackView}.
   */
  groups?: readonly string[];
  /** Elections this process campaigns in: reported as not led (0) until a seat is held. */
  elections?: readonly string[];
  /** Locks this process takes: reported as not held (0) until acquired. */
  locks?: readonly string[];
  /** Buckets (seconds) of the renewal round-trip histogram; default {@link RENEWAL_BUCKETS}. */
  renewalBuckets?: readonly number[];
  /** Buckets (seconds) of the lock wait histogram; default {@link LOCK_WAIT_BUCKETS}. */
  lockWaitBuckets?: readonly number[];
}

/** The metrics of one coordinator, registered in the registry given; dispose to unregister them. */
export interface CoordinatorMetrics extends AsyncDisposable {
  /** The registry the metrics are in. */
  readonly registry: Registry;
  /** The full names of the metrics registered (with the prefix). */
  readonly metricNames: readonly string[];
  /**
   * Resolves once the views of {@link CoordinatorMetricsOptions.groups} are open; rejects with the
   * first error (e.g. `GROUP_NOT_FOUND`) — the other groups are reported all the same.
   */
  ready(): Promise<void>;
  /**
   * Opens a view of a group (shared with the application's, if any) and reports its size and its
   * join / update / leave events. Idempotent; `GROUP_NOT_FOUND` for a group that does not exist.
   */
  watchGroup(group: string): Promise<void>;
  /**
   * Reports a view the application already holds (its size and events) until the returned function is
   * called or the metrics are disposed; the view stays the application's to close. A group already
   * reported is not counted twice: the call then changes nothing.
   */
  trackView(view: GroupView): () => void;
  /** Stops reporting, closes the views it opened and removes its metrics from the registry. Idempotent. */
  close(): Promise<void>;
}

interface TrackedGroup {
  view: GroupView;
  owned: boolean;
  listener: (event: MembershipEvent) => void;
}

/**
 * Instruments a coordinator with Prometheus metrics in the given registry (see the package README for
 * the table). Reads the coordinator's public events only (`session`, `rejoined`, `renewed`,
 * `leadership`, `lockAcquired`) and the views of the groups asked for; never labels by member id.
 * Create it before campaigning or taking locks: leaderships that began earlier are not seen.
 *
 * `INVALID_ARGUMENT` when the registry already holds a metric of the same name (one per registry and
 * prefix) or an option is malformed.
 */
export function coordinatorMetrics(
  coord: Coordinator,
  options: CoordinatorMetricsOptions,
): CoordinatorMetrics {
  return new Instrumentation(coord, options);
}

class Instrumentation implements CoordinatorMetrics {
  readonly registry: Registry;
  readonly metricNames: readonly string[];
  private readonly groups = new Map<string, TrackedGroup>();
  private readonly opening = new Map<string, Promise<void>>();
  private closed = false;
  private readonly detach: (() => void)[] = [];

  // The metrics, documented in the README's table.
  /** `rollcall_backend_info{backend}` 1: the backend this process uses. */
  private readonly backendInfo: Gauge<"backend">;
  /** `rollcall_session_state{state}`: 1 for the current state, 0 for the others. */
  private readonly sessionState: Gauge<"state">;
  /** `rollcall_session_timeout_seconds`: the session timeout the backend applies. */
  private readonly sessionTimeout: Gauge;
  /** `rollcall_session_suspensions_total`: times the session became `suspended`. */
  private readonly suspensions: Counter;
  /** `rollcall_session_expirations_total`: times the session `expired`. */
  private readonly expirations: Counter;
  /** `rollcall_session_rejoins_total`: re-join rounds after a re-opened session. */
  private readonly rejoins: Counter;
  /** `rollcall_session_renewal_round_trip_seconds`: round trip of the requests that renewed the session. */
  private readonly renewal: Histogram;
  /** `rollcall_group_members{group}`: members of a group as the process's view sees them. */
  private readonly groupMembers: Gauge<"group">;
  /** `rollcall_membership_events_total{group,type,reason}`: join / update / leave events seen. */
  private readonly membershipEvents: Counter<"group" | "type" | "reason">;
  /** `rollcall_election_leader{election}`: 1 while this process holds a seat. */
  private readonly electionLeader: Gauge<"election">;
  /** `rollcall_election_fencing_token{election}`: token of the seat held (or last held). */
  private readonly electionToken: Gauge<"election">;
  /** `rollcall_election_transitions_total{election,transition}`: seats gained and lost. */
  private readonly electionTransitions: Counter<"election" | "transition">;
  /** `rollcall_lock_held{lock}`: 1 while this process holds the lock. */
  private readonly lockHeld: Gauge<"lock">;
  /** `rollcall_lock_wait_seconds{lock}`: time from asking for a lock to holding it. */
  private readonly lockWait: Histogram<"lock">;

  constructor(
    private readonly coord: Coordinator,
    options: CoordinatorMetricsOptions,
  ) {
    const registry = registryOption(options, "coordinatorMetrics");
    this.registry = registry;
    const prefix = prefixOption(options.prefix ?? DEFAULT_PREFIX);
    const renewalBuckets = bucketsOption("renewalBuckets", options.renewalBuckets ?? RENEWAL_BUCKETS);
    const lockWaitBuckets = bucketsOption("lockWaitBuckets", options.lockWaitBuckets ?? LOCK_WAIT_BUCKETS);
    const names = Object.keys(METRICS).map((name) => prefix + name);
    checkNamesFree(
      registry,
      names,
      "one coordinatorMetrics() per registry and prefix (give a second coordinator another prefix, or dispose the first)",
    );
    this.metricNames = names;
    const registers = [registry];
    const n = (name: string) => prefix + name;

    this.backendInfo = new Gauge({
      name: n("backend_info"),
      help: METRICS.backend_info.help,
      labelNames: ["backend"],
      registers,
    });
    this.backendInfo.set({ backend: coord.backend }, 1);
    this.sessionState = new Gauge({
      name: n("session_state"),
      help: METRICS.session_state.help,
      labelNames: ["state"],
      registers,
      collect: () => {
        const current = this.coord.state;
        for (const state of SESSION_STATES) this.sessionState.set({ state }, state === current ? 1 : 0);
      },
    });
    this.sessionTimeout = new Gauge({
      name: n("session_timeout_seconds"),
      help: METRICS.session_timeout_seconds.help,
      registers,
      collect: () => this.sessionTimeout.set(this.coord.sessionTimeout / 1000),
    });
    this.suspensions = new Counter({
      name: n("session_suspensions_total"),
      help: METRICS.session_suspensions_total.help,
      registers,
    });
    this.expirations = new Counter({
      name: n("session_expirations_total"),
      help: METRICS.session_expirations_total.help,
      registers,
    });
    this.rejoins = new Counter({
      name: n("session_rejoins_total"),
      help: METRICS.session_rejoins_total.help,
      registers,
    });
    this.renewal = new Histogram({
      name: n("session_renewal_round_trip_seconds"),
      help: METRICS.session_renewal_round_trip_seconds.help,
      buckets: renewalBuckets,
      registers,
    });
    this.groupMembers = new Gauge({
      name: n("group_members"),
      help: METRICS.group_members.help,
      labelNames: ["group"],
      registers,
      collect: () => {
        for (const [group, tracked] of this.groups) this.groupMembers.set({ group }, tracked.view.size);
      },
    });
    this.membershipEvents = new Counter({
      name: n("membership_events_total"),
      help: METRICS.membership_events_total.help,
      labelNames: ["group", "type", "reason"],
      registers,
    });
    this.electionLeader = new Gauge({
      name: n("election_leader"),
      help: METRICS.election_leader.help,
      labelNames: ["election"],
      registers,
    });
    this.electionToken = new Gauge({
      name: n("election_fencing_token"),
      help: METRICS.election_fencing_token.help,
      labelNames: ["election"],
      registers,
    });
    this.electionTransitions = new Counter({
      name: n("election_transitions_total"),
      help: METRICS.election_transitions_total.help,
      labelNames: ["election", "transition"],
      registers,
    });
    this.lockHeld = new Gauge({
      name: n("lock_held"),
      help: METRICS.lock_held.help,
      labelNames: ["lock"],
      registers,
    });
    this.lockWait = new Histogram({
      name: n("lock_wait_seconds"),
      help: METRICS.lock_wait_seconds.help,
      labelNames: ["lock"],
      buckets: lockWaitBuckets,
      registers,
    });

    for (const election of options.elections ?? []) this.electionLeader.set({ election }, 0);
    for (const lock of options.locks ?? []) this.lockHeld.set({ lock }, 0);
    this.listen("session", (state: SessionState) => {
      if (state === "suspended") this.suspensions.inc();
      else if (state === "expired") this.expirations.inc();
    });
    this.listen("rejoined", () => this.rejoins.inc());
    this.listen("renewed", (roundTrip: number) => this.renewal.observe(roundTrip / 1000));
    this.listen("leadership", (change: LeadershipChange) => this.onLeadership(change));
    this.listen("lockAcquired", (lock: string, waited: number) =>
      this.lockWait.observe({ lock }, waited / 1000),
    );
    for (const group of options.groups ?? []) validateGroupName(group);
    this.initialGroups = (options.groups ?? []).map((group) =>
      this.watchGroup(group).catch((error: unknown) => {
        // Reported by ready(); a group created later can be watched again.
        this.groupErrors.push(error);
      }),
    );
  }

  private readonly initialGroups: Promise<void>[];
  private readonly groupErrors: unknown[] = [];

  async ready(): Promise<void> {
    await Promise.all(this.initialGroups);
    const [first] = this.groupErrors;
    if (first !== undefined) throw first;
  }

  // biome-ignore lint/suspicious/noExplicitAny: each event has its own listener shape
  private listen(event: Parameters<Coordinator["off"]>[0], listener: (...args: any[]) => void): void {
    (this.coord.on as (e: string, l: typeof listener) => Coordinator)(event, listener);
    this.detach.push(() => this.coord.off(event, listener));
  }

  private onLeadership(change: LeadershipChange): void {
    const held = change.state === "elected" ? 1 : 0;
    if (change.kind === "lock") {
      this.lockHeld.set({ lock: change.name }, held);
      return;
    }
    const election = change.name;
    this.electionLeader.set({ election }, held);
    if (held) this.electionToken.set({ election }, Number(change.token));
    this.electionTransitions.inc({ election, transition: change.state });
  }

  watchGroup(group: string): Promise<void> {
    validateGroupName(group);
    if (this.closed) return Promise.reject(closedError());
    if (this.groups.has(group)) return Promise.resolve();
    let opening = this.opening.get(group);
    if (!opening) {
      opening = (async () => {
        const view = await this.coord.view(group);
        if (this.closed || this.groups.has(group)) {
          await view.close();
          return;
        }
        this.attach(view, true);
      })().finally(() => this.opening.delete(group));
      this.opening.set(group, opening);
    }
    return opening;
  }

  trackView(view: GroupView): () => void {
    if (typeof view !== "object" || view === null || typeof view.on !== "function") {
      throw new RollcallError("INVALID_ARGUMENT", "trackView needs a GroupView (from coord.view())");
    }
    if (this.closed) throw closedError();
    if (this.groups.has(view.group)) return () => {};
    const tracked = this.attach(view, false);
    return () => {
      if (this.groups.get(view.group) === tracked) this.untrack(view.group, tracked);
    };
  }

  private attach(view: GroupView, owned: boolean): TrackedGroup {
    const group = view.group;
    const listener = (event: MembershipEvent) => {
      if (event.type === "leave") this.membershipEvents.inc({ group, type: "leave", reason: event.reason });
      else if (event.type !== "snapshot") this.membershipEvents.inc({ group, type: event.type });
    };
    const tracked: TrackedGroup = { view, owned, listener };
    this.groups.set(group, tracked);
    view.on("change", listener);
    return tracked;
  }

  private untrack(group: string, tracked: TrackedGroup): Promise<void> {
    tracked.view.off("change", tracked.listener);
    this.groups.delete(group);
    this.groupMembers.remove({ group });
    return tracked.owned ? tracked.view.close() : Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const undo of this.detach.splice(0)) undo();
    await Promise.allSettled([...this.opening.values()]);
    await Promise.allSettled([...this.groups].map(([group, tracked]) => this.untrack(group, tracked)));
    for (const name of this.metricNames) this.registry.removeSingleMetric(name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function closedError(): RollcallError {
  return new RollcallError("NOT_CONNECTED", "these coordinator metrics were closed");
}
