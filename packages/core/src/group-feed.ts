import { ChangeFollower, type FollowerOptions } from "./change-follower.js";
import { changeHintsOf, hintsAbout } from "./change-hints.js";
import type { Driver, DriverEvent, GroupSnapshot } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { bySeq } from "./internal/member-order.js";
import type { Session } from "./session.js";
import type { Member, MembershipEvent } from "./types.js";

/** Settings of a {@link GroupFeed}. */
export type GroupFeedOptions = FollowerOptions;

function sameMember(a: Member, b: Member): boolean {
  return (
    a.seq === b.seq &&
    a.updatedAt.getTime() === b.updatedAt.getTime() &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

/**
 * One group's membership, kept current from the driver's push watch or by polling its change log (see
 * {@link ChangeFollower}), shared by every watch iterator, view and election of a coordinator on that
 * group. After lost continuity it re-lists and reports the difference followed by a snapshot, so no
 * change is silently lost.
 */
export class GroupFeed extends ChangeFollower<GroupSnapshot, DriverEvent, MembershipEvent> {
  private readonly current = new Map<string, Member>();

  constructor(
    readonly group: string,
    driver: Driver,
    session: Session,
    options: GroupFeedOptions,
  ) {
    const push = driver.characteristics.watch === "push" && driver.watch !== undefined;
    super(
      {
        list: () => driver.members(group),
        ...(push
          ? {
              watch: (from, listener) =>
                (driver.watch as NonNullable<Driver["watch"]>).call(driver, group, from, {
                  event: (event) => listener.change(event),
                  resync: (reason) => listener.resync(reason),
                }),
            }
          : {}),
        ...(driver.changes
          ? {
              changes: async (since) => {
                const batch = await (driver.changes as NonNullable<Driver["changes"]>).call(
                  driver,
                  group,
                  since,
                );
                if ("resync" in batch) return batch;
                return {
                  changes: batch.events,
                  revision: batch.revision,
                  ...(batch.more === undefined ? {} : { more: batch.more }),
                };
              },
            }
          : {}),
        ...hintsAbout(changeHintsOf(driver), group),
      },
      session,
      options,
      { group },
    );
    this.begin();
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

  protected load(snapshot: GroupSnapshot): void {
    for (const member of snapshot.members) this.current.set(member.id, member);
  }

  protected override relistFallback(error: unknown): GroupSnapshot | undefined {
    return RollcallError.hasCode(error, "GROUP_NOT_FOUND") ? { members: [], revision: this.seen } : undefined;
  }

  protected applyChange(event: DriverEvent): void {
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

  protected reconcile(snapshot: GroupSnapshot): void {
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
    this.seen = snapshot.revision;
    this.emit({ type: "snapshot", group, members: this.members() });
  }
}
