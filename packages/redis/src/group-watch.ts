import { groupNotFound, type WatchHandle, type WatchListener } from "@rollcall/core/driver";
import type { ChangeMessage } from "./records.js";

/** What the `changes` script reports about a group's change log after a revision. */
export interface ChangeLogReply {
  /** False when the group does not exist. */
  exists: boolean;
  /** The namespace's epoch: a different value means the data was lost since. */
  epoch: string;
  /** Revision at which the group was created. */
  created: bigint;
  /** Highest revision trimmed from the log (0 if none). */
  floor: bigint;
  /** The changes after the requested revision, in order. */
  messages: ChangeMessage[];
}

/** Reads a group's change log after a revision. */
export type ChangeLogReader = (group: string, afterRevision: bigint) => Promise<ChangeLogReply>;

/** Something that receives a group's published changes (a watch, an awaitGone). */
export interface ChannelSubscriber {
  /** A change published on the group's channel. */
  message(message: ChangeMessage): void;
  /** The connection was lost: messages may be missed from now on. */
  interrupted(): void;
  /** The connection is back and the channel subscribed again: catch up without trusting pub/sub. */
  resumed(): void;
}

/**
 * One push watch of a group. Published changes are applied when they chain onto the watch's cursor
 * (each names the group's previous revision); a gap, a reconnect or the start of the watch is filled
 * from the group's change log instead, and when the log cannot fill it (trimmed past the cursor, the
 * group deleted or re-created, the data lost) the listener is told to resync.
 */
export class GroupWatch implements ChannelSubscriber, WatchHandle {
  private cursor: bigint;
  private epoch: string | undefined;
  private readonly pending: ChangeMessage[] = [];
  // Until start() has read the log, published changes are only buffered.
  private fetching = true;
  private fetchAgain = false;
  private suspended = false;
  private closed = false;
  private gapAt: bigint | undefined;

  constructor(
    readonly group: string,
    fromRevision: bigint,
    private readonly listener: WatchListener,
    private readonly read: ChangeLogReader,
    private readonly release: () => void,
  ) {
    this.cursor = fromRevision;
  }

  /** Reads the log from the starting revision. Rejects with `GROUP_NOT_FOUND` if there is no group. */
  async start(): Promise<void> {
    let reply: ChangeLogReply;
    try {
      reply = await this.read(this.group, this.cursor);
    } catch (error) {
      await this.close();
      throw error;
    }
    if (!reply.exists) {
      await this.close();
      throw groupNotFound(this.group);
    }
    this.fetching = false;
    this.apply(reply);
    this.drain();
  }

  message(message: ChangeMessage): void {
    if (this.closed) return;
    if (this.fetching || this.suspended) {
      this.pending.push(message);
      return;
    }
    this.handle(message);
  }

  interrupted(): void {
    this.suspended = true;
  }

  resumed(): void {
    if (this.closed) return;
    this.suspended = false;
    this.catchUp();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    this.release();
  }

  private handle(message: ChangeMessage): void {
    if (message.revision <= this.cursor) return;
    if (message.kind === "deleted") {
      this.resync(`group ${this.group} was deleted`);
      return;
    }
    if (message.previous === this.cursor) {
      this.deliver(message);
      return;
    }
    // A change is missing between the cursor and this message: read the log, then go on. The log was
    // written in the same script as the message, so a second gap at the same message means it is gone.
    if (this.gapAt === message.revision) {
      this.resync(`the change log has no entries between revision ${this.cursor} and ${message.revision}`);
      return;
    }
    this.gapAt = message.revision;
    this.pending.unshift(message);
    this.catchUp();
  }

  private deliver(message: ChangeMessage): void {
    if (message.kind !== "event") return;
    this.cursor = message.revision;
    this.listener.event(message.event);
  }

  private catchUp(): void {
    if (this.closed) return;
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = true;
    this.fetchAgain = false;
    this.read(this.group, this.cursor).then(
      (reply) => {
        this.fetching = false;
        if (this.closed) return;
        this.apply(reply);
        if (this.fetchAgain) this.catchUp();
        else this.drain();
      },
      (error: unknown) => {
        this.fetching = false;
        // Disconnected meanwhile: the reconnect resumes this watch. Otherwise give up on continuity.
        if (this.suspended || this.closed) return;
        this.resync(
          `reading the change log failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
  }

  private apply(reply: ChangeLogReply): void {
    if (this.closed) return;
    const broken = this.discontinuity(reply);
    if (broken !== undefined) {
      this.resync(broken);
      return;
    }
    this.epoch = reply.epoch;
    for (const message of reply.messages) {
      if (this.closed) return;
      if (message.revision > this.cursor) this.deliver(message);
    }
  }

  /** Why the log cannot continue from the cursor, if it cannot. */
  private discontinuity(reply: ChangeLogReply): string | undefined {
    if (!reply.exists) return `group ${this.group} no longer exists`;
    if (this.epoch !== undefined && reply.epoch !== this.epoch)
      return "the Redis data was lost (the namespace's epoch changed)";
    if (reply.created > this.cursor)
      return `group ${this.group} was re-created after revision ${this.cursor}`;
    if (reply.floor > this.cursor) return `the change log was trimmed past revision ${this.cursor}`;
    return undefined;
  }

  private drain(): void {
    while (!this.closed && !this.fetching && !this.suspended && this.pending.length > 0) {
      const next = this.pending.shift();
      if (next) this.handle(next);
    }
  }

  private resync(reason: string): void {
    if (this.closed) return;
    void this.close();
    this.listener.resync(reason);
  }
}
