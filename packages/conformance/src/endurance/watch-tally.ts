import type { Coordinator, GroupView, MembershipEvent } from "@rollcall/core";

/** What a soak watcher saw, JSON-safe. */
export interface WatchTallyReport {
  snapshots: number;
  joins: number;
  updates: number;
  leaves: number;
  /** Leaves by reason. */
  leaveReasons: Record<string, number>;
  /** Joins delivered with a lower `seq` than a join (or snapshot member) delivered before them. */
  seqOrderViolations: number;
  /** An example of the first violation, for the failure message. */
  firstViolation?: string;
  /** Member ids the raw watch's events add up to (the last snapshot, plus joins, minus leaves). */
  rawIds: string[];
  /** Joins minus leaves since the last snapshot, plus that snapshot's size. */
  rawCount: number;
  /** Member ids of the cached view. */
  viewIds: string[];
  /** Why the watch ended early, if it did. */
  watchError?: string;
}

/**
 * Follows one group the way a long-running consumer does: a cached view and a raw watch, checking that
 * joins arrive in `seq` order (the contract: a member that becomes visible later has a larger `seq` than
 * every member already visible) and that the events add up.
 */
export class WatchTally {
  private readonly controller = new AbortController();
  private readonly raw = new Map<string, bigint>();
  private maxSeq = -1n;
  private rawCount = 0;
  private readonly report: Omit<WatchTallyReport, "rawIds" | "rawCount" | "viewIds"> = {
    snapshots: 0,
    joins: 0,
    updates: 0,
    leaves: 0,
    leaveReasons: {},
    seqOrderViolations: 0,
  };
  private view: GroupView | undefined;
  private done: Promise<void> | undefined;

  constructor(
    private readonly coord: Coordinator,
    private readonly group: string,
  ) {}

  /** Opens the view and the raw watch; resolves once the watch delivered its snapshot. */
  async start(): Promise<void> {
    this.view = await this.coord.view(this.group);
    let started!: () => void;
    const snapshot = new Promise<void>((resolve) => {
      started = resolve;
    });
    this.done = (async () => {
      try {
        for await (const event of this.coord.watch(this.group, { signal: this.controller.signal })) {
          this.apply(event);
          if (event.type === "snapshot") started();
        }
      } catch (error) {
        if (!this.controller.signal.aborted) this.report.watchError = String(error);
      } finally {
        started();
      }
    })();
    await snapshot;
  }

  private apply(event: MembershipEvent): void {
    switch (event.type) {
      case "snapshot":
        this.report.snapshots++;
        this.raw.clear();
        this.maxSeq = -1n;
        for (const m of event.members) {
          this.raw.set(m.id, m.seq);
          if (m.seq > this.maxSeq) this.maxSeq = m.seq;
        }
        this.rawCount = event.members.length;
        return;
      case "join":
        this.report.joins++;
        // A join a resync found by re-listing was missed live: it may lie below what came before the gap.
        if (event.member.seq < this.maxSeq && event.resync !== true) {
          this.report.seqOrderViolations++;
          this.report.firstViolation ??= `join ${event.member.id} seq ${event.member.seq} after seq ${this.maxSeq}`;
        } else if (event.member.seq > this.maxSeq) this.maxSeq = event.member.seq;
        this.raw.set(event.member.id, event.member.seq);
        this.rawCount++;
        return;
      case "update":
        this.report.updates++;
        return;
      case "leave":
        this.report.leaves++;
        this.report.leaveReasons[event.reason] = (this.report.leaveReasons[event.reason] ?? 0) + 1;
        this.raw.delete(event.memberId);
        this.rawCount--;
        return;
    }
  }

  /** What was seen so far. */
  snapshot(): WatchTallyReport {
    return {
      ...this.report,
      leaveReasons: { ...this.report.leaveReasons },
      rawIds: [...this.raw.keys()].sort(),
      rawCount: this.rawCount,
      viewIds: (this.view?.members() ?? []).map((m) => m.id).sort(),
    };
  }

  /** Stops the watch and closes the view. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
    await this.view?.close();
  }
}
