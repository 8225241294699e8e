import type { ChannelSubscriber } from "./channel-hub.js";
import type { ChangeMessage } from "./records.js";

/**
 * Waits for one incarnation (seq) of a member to leave a group: its leave, a re-join of the id under
 * another seq, or the group's deletion published on the group's channel ends the wait, and so does a
 * check that finds the member absent or under another seq — made once subscribed, and again after every
 * reconnect, because messages published while disconnected are lost.
 */
export class GoneWaiter implements ChannelSubscriber<ChangeMessage> {
  private done = false;

  constructor(
    private readonly memberId: string,
    private readonly seq: bigint | undefined,
    private readonly check: () => Promise<boolean>,
    private readonly finish: (error?: unknown) => void,
    private readonly retryDelay: number,
  ) {}

  /** Checks presence now; a failed check is retried while the waiter is active. */
  verify(): void {
    if (this.done) return;
    this.check().then(
      (present) => {
        if (!present) this.end();
      },
      () => {
        if (this.done) return;
        const timer = setTimeout(() => this.verify(), this.retryDelay);
        timer.unref?.();
      },
    );
  }

  message(message: ChangeMessage): void {
    if (message.kind === "deleted") {
      this.end();
      return;
    }
    const event = message.event;
    if (event.type === "leave") {
      if (event.memberId === this.memberId) this.end();
    } else if (event.member.id === this.memberId && this.seq !== undefined && event.member.seq !== this.seq) {
      // A join of the same id under another seq: ids are unique in a group, so the awaited one left.
      this.end();
    }
  }

  interrupted(): void {}

  resumed(): void {
    this.verify();
  }

  /** Stops waiting without resolving (the caller aborted). */
  cancel(): void {
    this.done = true;
  }

  /** Stops waiting and rejects the wait with `error` (the driver is closing). */
  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.finish(error);
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.finish();
  }
}
