import type { GroupView } from "./api.js";
import { FeedView } from "./feed-view.js";
import type { GroupFeed } from "./group-feed.js";
import type { Logger, Member, MembershipEvent } from "./types.js";

/** A {@link GroupView} over a coordinator's shared {@link GroupFeed}. */
export class FeedGroupView extends FeedView<MembershipEvent> implements GroupView {
  constructor(
    private readonly feed: GroupFeed,
    release: () => void,
    logger: Logger,
  ) {
    super(feed, release, logger);
  }

  get group(): string {
    return this.feed.group;
  }

  get size(): number {
    return this.closed ? 0 : this.feed.size;
  }

  members(): Member[] {
    return this.closed ? [] : this.feed.members();
  }

  has(memberId: string): boolean {
    return !this.closed && this.feed.has(memberId);
  }

  isUp(memberId: string): boolean {
    return this.has(memberId);
  }

  get(memberId: string): Member | undefined {
    return this.closed ? undefined : this.feed.get(memberId);
  }

  toString(): string {
    return `GroupView(${this.group}, ${this.size} members)`;
  }
}
