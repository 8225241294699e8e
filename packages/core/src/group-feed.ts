import type { Driver, DriverEvent, GroupSnapshot, WatchHandle } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { delay } from "./internal/abort.js";
import { backoff } from "./internal/backoff.js";
import { bySeq } from "./internal/member-order.js";
import type { Session } from "./session.js";
import { errorText } from "./session.js";
import type { Logger, Member, MembershipEvent } from "./types.js";

/** Settings of a {@link GroupFeed}. */
export interface GroupFeedOptions {
  pollInterval: number;
  retryInterval: number;
  logger: Logger;
}

function sameMember(a: Member, b: Member): boolean {
  return (
    a.seq === b.seq &&
    a.updatedAt.getTime() === b.updatedAt.getTime() &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

/**
 * One group's membership, kept current from the driver's push watch or by polling its change log,
 * shared by every watch iterator, view and election of a coordinator on that group. It applies events
 * in revision order, drops duplicates, and after lost continuity (driver resync, session re-opened)
 * re-lists and reports the difference followed by a snapshot, so no change is silently lost.
 */
export class GroupFeed {
  private readonly current = new Map<string, Member>();
  private revision = -1n;
  private epoch = 0;
  private handle: WatchHandle | undefined;
  private stopped = false;
  private resyncing: Promise<void> | undefined;
  private readonly subscribers = new Set<(event: MembershipEvent) => void>();
  private readonly stopSession: () => void;
  /** Resolves when the first snapshot is in; rejects (e.g. `GROUP_NOT_FOUND`) if it cannot be had. */
  readonly ready: Promise<void>;

  constructor(
    readonly group: string,
    private readonly driver: Driver,
    private readonly session: Session,
    private readonly options: GroupFeedOptions,
  ) {
    const onReopened = () => this.requestResync("the session was re-opened");
    session.reopened.add(onReopened);
    this.stopSession = () => session.reopened.remove(onReopened);
    this.ready = this.start();
    this.ready.catch(() => this.stop());
  }

  /** The members now, sorted by seq. */
  members(): Member[] {
    return [...this.current.values()].sort(bySeq);
  }

  /** The member's record, if present. */
  get(memberId: string): Member | undefined {
    return this.current.get(memberId);
  }

  /** Whether the member is present. */
  has(memberId: string): boolean {
    return this.current.has(memberId);
  }

  /** How many members are present. */
  get size(): number {
    return this.current.size;
  }

  /** Adds a subscriber; it gets every event from now on. Read {@link members} first for the state. */
  subscribe(listener: (event: MembershipEvent) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private emit(event: MembershipEvent): void {
    for (const listener of [...this.subscribers]) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error("a membership listener threw", {
          group: this.group,
          error: errorText(error),
        });
      }
    }
  }

  private async start(): Promise<void> {
    const snapshot = await this.driver.members(this.group);
    for (const member of snapshot.members) this.current.set(member.id, member);
    this.revision = snapshot.revision;
    await this.follow();
  }

  private async follow(): Promise<void> {
    const epoch = ++this.epoch;
    if (this.stopped) return;
    if (this.driver.characteristics.watch === "push" && this.driver.watch) {
      const handle = await this.driver.watch(this.group, this.revision, {
        event: (event) => {
          if (epoch === this.epoch) this.apply(event);
        },
        resync: (reason) => {
          if (epoch === this.epoch) this.requestResync(reason);
        },
      });
      if (epoch !== this.epoch || this.stopped) {
        await handle.close();
        return;
      }
      this.handle = handle;
    } else if (this.driver.changes) {
      void this.pollLoop(epoch);
    } else {
      throw new RollcallError("NOT_SUPPORTED", "the driver implements neither watch() nor changes()");
    }
  }

  private async pollLoop(epoch: number): Promise<void> {
    const changes = this.driver.changes?.bind(this.driver);
    if (!changes) return;
    let more = false;
    while (epoch === this.epoch && !this.stopped) {
      // A batch cut short is followed at once, so a busy group never falls behind the poll interval.
      if (!more) await delay(this.options.pollInterval);
      more = false;
      if (epoch !== this.epoch || this.stopped) return;
      if (this.session.state !== "connected") continue;
      try {
        const batch = await changes(this.group, this.revision);
        if (epoch !== this.epoch || this.stopped) return;
        if ("resync" in batch) {
          this.requestResync(batch.resync);
          return;
        }
        for (const event of batch.events) this.apply(event);
        if (batch.revision > this.revision) this.revision = batch.revision;
        more = batch.more === true;
      } catch (error) {
        this.options.logger.debug("polling the change log failed", {
          group: this.group,
          error: errorText(error),
        });
      }
    }
  }

  private apply(event: DriverEvent): void {
    if (event.revision <= this.revision) return;
    this.revision = event.revision;
    const group = this.group;
    if (event.type === "leave") {
      if (!this.current.delete(event.memberId)) return;
      this.emit({ type: "leave", group, memberId: event.memberId, reason: event.reason });
      return;
    }
    const member = event.member;
    const existing = this.current.get(member.id);
    this.current.set(member.id, member);
    if (existing === undefined) {
      this.emit({ type: "join", group, member });
    } else if (existing.seq !== member.seq) {
      this.emit({ type: "leave", group, memberId: member.id, reason: "unknown" });
      this.emit({ type: "join", group, member });
    } else if (!sameMember(existing, member) || event.type === "update") {
      this.emit({ type: "update", group, member });
    }
  }

  /** Re-lists the group, reports the difference and a snapshot, and follows from there. */
  requestResync(reason: string): void {
    if (this.stopped) return;
    this.options.logger.debug("resynchronising a group", { group: this.group, reason });
    this.epoch++;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) void handle.close().catch(() => {});
    if (this.resyncing) return;
    this.resyncing = this.resyncLoop().finally(() => {
      this.resyncing = undefined;
    });
  }

  private async resyncLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        await this.session.whenConnected();
      } catch {
        return;
      }
      let snapshot: GroupSnapshot;
      try {
        snapshot = await this.driver.members(this.group);
      } catch (error) {
        if (RollcallError.hasCode(error, "GROUP_NOT_FOUND")) {
          snapshot = { members: [], revision: this.revision };
        } else {
          attempt++;
          this.options.logger.debug("re-listing failed; will retry", {
            group: this.group,
            error: errorText(error),
          });
          await delay(backoff(attempt - 1, { initial: 250, max: this.options.retryInterval })).catch(
            () => {},
          );
          continue;
        }
      }
      if (this.stopped) return;
      this.diffTo(snapshot);
      try {
        await this.follow();
        return;
      } catch (error) {
        attempt++;
        this.options.logger.debug("re-watching failed; will retry", {
          group: this.group,
          error: errorText(error),
        });
        await delay(backoff(attempt - 1, { initial: 250, max: this.options.retryInterval })).catch(() => {});
      }
    }
  }

  private diffTo(snapshot: GroupSnapshot): void {
    const group = this.group;
    const next = new Map(snapshot.members.map((m) => [m.id, m] as const));
    for (const [id] of this.current) {
      if (!next.has(id)) {
        this.current.delete(id);
        this.emit({ type: "leave", group, memberId: id, reason: "unknown", resync: true });
      }
    }
    for (const member of [...next.values()].sort(bySeq)) {
      const existing = this.current.get(member.id);
      this.current.set(member.id, member);
      if (existing === undefined) this.emit({ type: "join", group, member, resync: true });
      else if (existing.seq !== member.seq) {
        this.emit({ type: "leave", group, memberId: member.id, reason: "unknown", resync: true });
        this.emit({ type: "join", group, member, resync: true });
      } else if (!sameMember(existing, member)) this.emit({ type: "update", group, member, resync: true });
    }
    this.revision = snapshot.revision;
    this.emit({ type: "snapshot", group, members: this.members() });
  }

  /** Stops following the group. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.epoch++;
    this.stopSession();
    const handle = this.handle;
    this.handle = undefined;
    if (handle) void handle.close().catch(() => {});
  }
}
