import {
  type Coordinator,
  type GroupView,
  HashRing,
  type Logger,
  type Member,
  type MembershipEvent,
  REACTOR_CONFIG,
  type SessionState,
} from "@rollcall/core";
import { ConfigWatches } from "./config-watches.js";
import { ReactorWatch } from "./reactor-watch.js";
import {
  type WireContest,
  type WireDelta,
  type WireGroup,
  type WireOwnership,
  type WireServer,
  type WireSnapshot,
  type WireTimelineEntry,
  wireMember,
} from "./wire.js";

/** What the model is told at creation; every value is already validated. */
export interface ModelSettings {
  label: string;
  discoveryInterval: number;
  pageSize: number;
  timelineLength: number;
  historyLength: number;
  configHistoryLength: number;
  seats: Readonly<Record<string, number>>;
  sampleKeys: readonly string[];
  onView: ((view: GroupView) => unknown) | undefined;
  logger: Logger;
}

/** Samples closer than this are merged into one point of a group's size history. */
export const HISTORY_RESOLUTION_MS = 1000;
/** Sample-key ownership is computed for groups up to this size (a ring of a huge group costs more than it shows). */
export const OWNERSHIP_MAX_MEMBERS = 1000;
/** Renewal round trips are pushed to the page at most this often. */
const ROUND_TRIP_PUSH_MS = 1000;

interface GroupWatch {
  name: string;
  view: GroupView;
  history: [number, number][];
  listener: (event: MembershipEvent) => void;
  untrack: (() => void) | undefined;
  ownership: WireOwnership | null;
}

interface ContestWatch {
  abort: AbortController;
  state: WireContest;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The dashboard's server side: one view per group, one candidate observation per election and lock,
 * one watch per configuration store (the reactors are read from their store's), all over the
 * coordinator's public API; the groups, elections,
 * locks and configuration stores that exist are re-listed every `discoveryInterval` (there is no watch
 * of the lists themselves). Every subscriber gets a snapshot,
 * then the same deltas, serialized once.
 */
export class DashboardModel {
  private readonly groups = new Map<string, GroupWatch>();
  private readonly opening = new Set<string>();
  private readonly contests = {
    election: new Map<string, ContestWatch>(),
    lock: new Map<string, ContestWatch>(),
  };
  private readonly configs: ConfigWatches;
  private readonly reactors: ReactorWatch;
  private readonly timeline: WireTimelineEntry[] = [];
  private readonly subscribers = new Set<(json: string) => void>();
  private readonly server: WireServer;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private roundTripTimer: NodeJS.Timeout | undefined;
  private lastRoundTripPush = 0;
  private discovering: Promise<void> | undefined;
  private closed = false;

  private readonly onSession = (state: SessionState, previous: SessionState) => {
    const at = Date.now();
    this.server.session = state;
    this.server.sessionSince = at;
    this.broadcast({ type: "session", at, state, previous });
    if (state === "connected") void this.discover();
  };

  private readonly onRenewed = (roundTrip: number) => {
    this.server.roundTrip = roundTrip;
    const wait = this.lastRoundTripPush + ROUND_TRIP_PUSH_MS - Date.now();
    if (wait <= 0) this.pushRoundTrip();
    else this.roundTripTimer ??= setTimeout(() => this.pushRoundTrip(), wait).unref();
  };

  constructor(
    private readonly coord: Coordinator,
    private readonly settings: ModelSettings,
  ) {
    const now = Date.now();
    this.server = {
      label: settings.label,
      backend: coord.backend,
      memberId: coord.memberId,
      sessionTimeout: coord.sessionTimeout,
      session: coord.state,
      sessionSince: now,
      roundTrip: null,
      startedAt: now,
      config: coord.characteristics.config,
    };
    this.reactors = new ReactorWatch({
      broadcast: (delta) => this.broadcast(delta),
      event: (entry) => {
        this.remember(entry);
        this.broadcast({ type: "reactor-event", entry });
      },
    });
    this.configs = new ConfigWatches(
      coord,
      {
        historyLength: settings.configHistoryLength,
        followers: new Map([[REACTOR_CONFIG, this.reactors]]),
        logger: settings.logger,
      },
      (delta) => this.broadcast(delta),
    );
    coord.on("session", this.onSession);
    coord.on("renewed", this.onRenewed);
    void this.discover();
    this.discoveryTimer = setInterval(() => void this.discover(), settings.discoveryInterval).unref();
  }

  /** How many subscribers (open event streams) and watches the model holds. */
  get counts(): { subscribers: number; groups: number; elections: number; locks: number; configs: number } {
    return {
      subscribers: this.subscribers.size,
      groups: this.groups.size,
      elections: this.contests.election.size,
      locks: this.contests.lock.size,
      configs: this.configs.size,
    };
  }

  /** Resolves after one more listing of groups, elections, locks and configuration stores has been applied. */
  async refresh(): Promise<void> {
    await this.discovering;
    await this.discover();
  }

  /** The current snapshot, and every later delta (as JSON) to `listener` until `unsubscribe()`. */
  subscribe(listener: (json: string) => void): { snapshot: string; unsubscribe(): void } {
    this.subscribers.add(listener);
    return {
      snapshot: JSON.stringify(this.snapshot()),
      unsubscribe: () => this.subscribers.delete(listener),
    };
  }

  /** Everything the page shows, now. */
  snapshot(): WireSnapshot {
    return {
      type: "snapshot",
      now: Date.now(),
      server: { ...this.server },
      groups: [...this.groups.values()].map((g) => this.wireGroup(g)),
      elections: [...this.contests.election.values()].map((c) => c.state),
      locks: [...this.contests.lock.values()].map((c) => c.state),
      timeline: [...this.timeline],
      configs: this.configs.wire(),
      reactors: this.reactors.wire(),
      pageSize: this.settings.pageSize,
      configHistoryLength: this.settings.configHistoryLength,
    };
  }

  /** Stops every watch and drops every subscriber. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.discoveryTimer);
    clearTimeout(this.roundTripTimer);
    this.coord.off("session", this.onSession);
    this.coord.off("renewed", this.onRenewed);
    this.subscribers.clear();
    this.configs.close();
    for (const kind of ["election", "lock"] as const) {
      for (const contest of this.contests[kind].values()) contest.abort.abort();
      this.contests[kind].clear();
    }
    const views = [...this.groups.values()];
    this.groups.clear();
    await Promise.allSettled(views.map((g) => this.closeGroup(g)));
  }

  private pushRoundTrip(): void {
    this.roundTripTimer = undefined;
    this.lastRoundTripPush = Date.now();
    if (this.server.roundTrip !== null) this.broadcast({ type: "renewed", roundTrip: this.server.roundTrip });
  }

  private broadcast(delta: WireDelta): void {
    if (this.subscribers.size === 0) return;
    const json = JSON.stringify(delta);
    for (const subscriber of [...this.subscribers]) {
      try {
        subscriber(json);
      } catch (error) {
        this.settings.logger.warn("a dashboard subscriber failed", { error: errorText(error) });
      }
    }
  }

  private remember(entry: WireTimelineEntry): void {
    this.timeline.push(entry);
    if (this.timeline.length > this.settings.timelineLength) this.timeline.shift();
  }

  private wireGroup(g: GroupWatch): WireGroup {
    return {
      name: g.name,
      members: g.view.members().map(wireMember),
      history: [...g.history],
      ownership: g.ownership,
    };
  }

  private discover(): Promise<void> {
    if (this.closed || this.coord.state !== "connected") return Promise.resolve();
    this.discovering ??= this.listAll().finally(() => {
      this.discovering = undefined;
    });
    return this.discovering;
  }

  private async listAll(): Promise<void> {
    const [groups, elections, locks, configs] = await Promise.allSettled([
      this.coord.groups(),
      this.coord.elections(),
      this.coord.locks(),
      // A backend without a configuration store has nothing to list: the page shows no configuration.
      this.coord.characteristics.config === "none" ? Promise.resolve([]) : this.coord.configs(),
    ]);
    if (this.closed) return;
    if (groups.status === "fulfilled") await this.syncGroups(groups.value);
    else this.settings.logger.debug("listing groups failed", { error: errorText(groups.reason) });
    if (elections.status === "fulfilled") this.syncContests("election", elections.value);
    if (locks.status === "fulfilled") this.syncContests("lock", locks.value);
    if (configs.status === "fulfilled") await this.configs.sync(configs.value);
    else this.settings.logger.debug("listing configurations failed", { error: errorText(configs.reason) });
  }

  private async syncGroups(names: string[]): Promise<void> {
    const present = new Set(names);
    for (const [name, g] of this.groups) {
      if (present.has(name)) continue;
      this.groups.delete(name);
      void this.closeGroup(g);
      this.broadcast({ type: "group-removed", name });
    }
    await Promise.allSettled(
      names.filter((n) => !this.groups.has(n) && !this.opening.has(n)).map((n) => this.openGroup(n)),
    );
  }

  private async openGroup(name: string): Promise<void> {
    this.opening.add(name);
    let view: GroupView;
    try {
      view = await this.coord.view(name);
    } catch (error) {
      this.settings.logger.debug("cannot watch a group", { group: name, error: errorText(error) });
      return;
    } finally {
      this.opening.delete(name);
    }
    if (this.closed || this.groups.has(name)) {
      await view.close();
      return;
    }
    const g: GroupWatch = {
      name,
      view,
      history: [[Date.now(), view.size]],
      listener: (event) => this.onGroupChange(g, event),
      untrack: undefined,
      ownership: null,
    };
    g.ownership = this.ownership(g);
    view.on("change", g.listener);
    this.groups.set(name, g);
    try {
      const untrack = this.settings.onView?.(view);
      if (typeof untrack === "function") g.untrack = () => void untrack();
    } catch (error) {
      this.settings.logger.warn("the dashboard's onView hook threw", {
        group: name,
        error: errorText(error),
      });
    }
    this.broadcast({ type: "group-added", group: this.wireGroup(g) });
  }

  private async closeGroup(g: GroupWatch): Promise<void> {
    g.view.off("change", g.listener);
    g.untrack?.();
    await g.view.close().catch(() => {});
  }

  private sample(g: GroupWatch, at: number): void {
    const last = g.history.at(-1);
    if (last && last[1] === g.view.size) return;
    if (last && at - last[0] < HISTORY_RESOLUTION_MS) last[1] = g.view.size;
    else g.history.push([at, g.view.size]);
    if (g.history.length > this.settings.historyLength) g.history.shift();
  }

  /**
   * Who a `HashRing` of the group's member ids gives each sample key: what a `Partitioner` over this
   * group decides. `null` without sample keys, or for a group larger than {@link OWNERSHIP_MAX_MEMBERS}.
   */
  private ownership(g: GroupWatch): WireOwnership | null {
    const keys = this.settings.sampleKeys;
    if (keys.length === 0 || g.view.size > OWNERSHIP_MAX_MEMBERS) return null;
    const ring = new HashRing(g.view.members().map((m) => m.id));
    return keys.map((key) => [key, ring.size === 0 ? null : ([...ring.getNodes(key)][0] ?? null)]);
  }

  private updateOwnership(g: GroupWatch): void {
    const next = this.ownership(g);
    if (JSON.stringify(next) === JSON.stringify(g.ownership)) return;
    g.ownership = next;
    this.broadcast({ type: "ownership", group: g.name, ownership: next ?? [] });
  }

  private onGroupChange(g: GroupWatch, event: MembershipEvent): void {
    const at = Date.now();
    this.sample(g, at);
    if (event.type !== "update") this.updateOwnership(g);
    switch (event.type) {
      case "snapshot":
        this.remember({ at, kind: "resync", group: g.name, size: event.members.length });
        this.broadcast({ type: "group-snapshot", at, name: g.name, members: event.members.map(wireMember) });
        return;
      case "join":
      case "update":
        this.remember({
          at,
          kind: event.type,
          group: g.name,
          memberId: event.member.id,
          seq: event.member.seq.toString(),
        });
        this.broadcast({ type: event.type, at, group: g.name, member: wireMember(event.member) });
        return;
      case "leave":
        this.remember({ at, kind: "leave", group: g.name, memberId: event.memberId, reason: event.reason });
        this.broadcast({ type: "leave", at, group: g.name, memberId: event.memberId, reason: event.reason });
        return;
    }
  }

  private syncContests(kind: "election" | "lock", names: string[]): void {
    const watches = this.contests[kind];
    const present = new Set(names);
    for (const [name, contest] of watches) {
      if (present.has(name)) continue;
      contest.abort.abort();
      watches.delete(name);
      this.broadcast({ type: `${kind}-removed`, name });
    }
    for (const name of names) if (!watches.has(name)) this.observeContest(kind, name);
  }

  private observeContest(kind: "election" | "lock", name: string): void {
    const seats = kind === "lock" ? 1 : (this.settings.seats[name] ?? 1);
    const contest: ContestWatch = {
      abort: new AbortController(),
      state: { name, seats, candidates: [], since: null, sinceExact: false, transitions: 0 },
    };
    this.contests[kind].set(name, contest);
    const signal = contest.abort.signal;
    void (async () => {
      let first = true;
      try {
        const source = kind === "lock" ? this.coord.lock(name) : this.coord.election(name, { seats });
        for await (const candidates of source.observeCandidates({ signal })) {
          this.onContest(kind, contest, candidates, first);
          first = false;
        }
      } catch (error) {
        this.settings.logger.debug(`cannot observe a ${kind}`, { name, error: errorText(error) });
      }
      // Ended without being asked to (closed coordinator, lost feed): the next listing starts again.
      if (!signal.aborted && this.contests[kind].get(name) === contest) this.contests[kind].delete(name);
    })();
  }

  private onContest(
    kind: "election" | "lock",
    contest: ContestWatch,
    candidates: Member[],
    first: boolean,
  ): void {
    const at = Date.now();
    const state = contest.state;
    const before = state.candidates[0];
    const holder = candidates[0];
    const changed = before?.id !== holder?.id || before?.seq !== holder?.seq.toString();
    state.candidates = candidates.map(wireMember);
    if (first) {
      state.since = holder ? at : null;
      state.sinceExact = false;
    } else if (changed) {
      state.since = holder ? at : null;
      state.sinceExact = true;
      state.transitions++;
      this.remember({
        at,
        kind: "leader",
        contest: kind,
        name: state.name,
        holder: holder?.id ?? null,
        token: holder?.seq.toString() ?? null,
      });
    }
    this.broadcast({ type: kind, at, contest: { ...state } });
  }
}
