import type { WatchHandle } from "@rollcall/core/driver";
import type { ChannelSubscriber } from "./channel-hub.js";

/** A change as published and logged: it names the revision before it, so a watcher can tell a gap. */
export interface ChainedMessage {
  /** The topic's revision before this change (`0` for its first change). */
  previous: bigint;
  /** The revision the change was committed at. */
  revision: bigint;
}

/** What reading a change log after a revision returns (the common part; each kind adds its own). */
export interface LogRead<M extends ChainedMessage> {
  /** The namespace's epoch: a different value means the data was lost since. */
  epoch: string;
  /** Highest revision trimmed from the log (0 if none). */
  floor: bigint;
  /** The changes after the requested revision, in order. */
  messages: M[];
}

/** Who is told that continuity is lost. */
export interface ResyncListener {
  resync(reason: string): void;
}

/**
 * One push watch of a topic (a group, a configuration store) that has a capped change log and a
 * pub/sub channel, both written by the same script. Published changes are applied when they chain onto
 * the watch's cursor; a gap, a reconnect or the start of the watch is filled from the change log
 * instead, and when the log cannot fill it (trimmed past the cursor, the data lost, or what the kind
 * adds in {@link discontinuity}) the listener is told to resync — once, and the watch closes.
 */
export abstract class LogWatch<M extends ChainedMessage, R extends LogRead<M>>
  implements ChannelSubscriber<M>, WatchHandle
{
  /** The revision of the last change applied (delivered or passed over). */
  protected cursor: bigint;
  private epoch: string | undefined;
  private readonly pending: M[] = [];
  // Until start() has read the log, published changes are only buffered.
  private fetching = true;
  private fetchAgain = false;
  private suspended = false;
  private closed = false;
  private gapAt: bigint | undefined;

  constructor(
    fromRevision: bigint,
    private readonly resyncListener: ResyncListener,
    private readonly read: (afterRevision: bigint) => Promise<R>,
    private readonly release: () => void,
  ) {
    this.cursor = fromRevision;
  }

  /** Hands a change after the cursor to the listener (the cursor is already moved past it). */
  protected abstract deliver(message: M): void;

  /** Why continuity ends at this published message (a group's deletion), if it does. */
  protected endsAt(_message: M): string | undefined {
    return undefined;
  }

  /** A reply the watch cannot start from: rejects start() with this error. */
  protected refuse(_reply: R): Error | undefined {
    return undefined;
  }

  /** Why the log cannot continue from the cursor, beyond trimming and a lost epoch. */
  protected discontinuity(_reply: R): string | undefined {
    return undefined;
  }

  /** Reads the log from the starting revision; rejects when it cannot be read or is {@link refuse}d. */
  async start(): Promise<void> {
    let reply: R;
    try {
      reply = await this.read(this.cursor);
      const refused = this.refuse(reply);
      if (refused !== undefined) throw refused;
    } catch (error) {
      await this.close();
      throw error;
    }
    this.fetching = false;
    this.apply(reply);
    this.drain();
  }

  message(message: M): void {
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

  private handle(message: M): void {
    if (message.revision <= this.cursor) return;
    const ended = this.endsAt(message);
    if (ended !== undefined) {
      this.resync(ended);
      return;
    }
    if (message.previous === this.cursor) {
      this.advance(message);
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

  private advance(message: M): void {
    this.cursor = message.revision;
    this.deliver(message);
  }

  private catchUp(): void {
    if (this.closed) return;
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = true;
    this.fetchAgain = false;
    this.read(this.cursor).then(
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

  private apply(reply: R): void {
    if (this.closed) return;
    const broken = this.brokenBy(reply);
    if (broken !== undefined) {
      this.resync(broken);
      return;
    }
    this.epoch = reply.epoch;
    for (const message of reply.messages) {
      if (this.closed) return;
      if (message.revision > this.cursor) this.advance(message);
    }
  }

  private brokenBy(reply: R): string | undefined {
    const specific = this.discontinuity(reply);
    if (specific !== undefined) return specific;
    if (this.epoch !== undefined && reply.epoch !== this.epoch)
      return "the Redis data was lost (the namespace's epoch changed)";
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
    this.resyncListener.resync(reason);
  }
}
