import type { GroupView } from "./api.js";
import type { GroupFeed } from "./group-feed.js";
import { Listeners } from "./internal/listeners.js";
import type { Logger, Member, MembershipEvent } from "./types.js";

/** A {@link GroupView} over a coordinator's shared {@link GroupFeed}. */
export class FeedGroupView implements GroupView {
  private readonly changes = new Listeners<[MembershipEvent]>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly feed: GroupFeed,
    private readonly release: () => void,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = feed.subscribe((event) => this.changes.emit(this.logger, "view change", event));
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

  on(event: "change", listener: (event: MembershipEvent) => void): this {
    if (event === "change") this.changes.add(listener);
    return this;
  }

  off(event: "change", listener: (event: MembershipEvent) => void): this {
    if (event === "change") this.changes.remove(listener);
    return this;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `GroupView(${this.group}, ${this.size} members)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
