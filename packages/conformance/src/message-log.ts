import { waitForMatch } from "./wait-for-match.js";

/** A message a member reported (see member-script.ts). */
export interface ChildMessage {
  type: string;
  at: number;
  [key: string]: unknown;
}

/** The messages a member reported, with waiting for one. */
export class MessageLog {
  readonly messages: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  /** Set when the member can report nothing more; waiting then fails with this description. */
  protected gone: string | undefined;

  constructor(readonly memberId: string) {}

  protected push(message: ChildMessage): void {
    this.messages.push(message);
    this.wake();
  }

  protected wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** The session states it reported (`session` messages), in order. */
  sessionStates(): string[] {
    return this.messages.filter((m) => m.type === "session").map((m) => String(m.state));
  }

  /** Waits for a message matching `predicate` (already received or future), up to `timeout` ms. */
  waitFor(
    predicate: (message: ChildMessage) => boolean,
    timeout: number,
    what = "a message",
  ): Promise<ChildMessage> {
    return waitForMatch(
      this.waiters,
      () => this.messages.find(predicate),
      timeout,
      () =>
        `member ${this.memberId}: no ${what} within ${timeout} ms; messages: ${JSON.stringify(this.messages)}${this.details()}`,
      () =>
        this.gone === undefined
          ? undefined
          : new Error(
              `member ${this.memberId} ${this.gone} before ${what}; messages: ${JSON.stringify(this.messages)}`,
            ),
    );
  }

  /** Extra detail for failure messages. */
  protected details(): string {
    return "";
  }

  /** Waits until the member is connected and has joined its groups. */
  async ready(timeout: number): Promise<ChildMessage> {
    const message = await this.waitFor((m) => m.type === "ready" || m.type === "fatal", timeout, "ready");
    if (message.type === "fatal")
      throw new Error(`member ${this.memberId} failed: ${String(message.message)}`);
    return message;
  }
}

/** A member the liveness suites can crash, freeze, thaw and close: a real process, or in-process. */
export interface Participant extends MessageLog {
  /** When it was killed (epoch ms), if it was: its leadership ended then. */
  readonly killedAt: number | undefined;
  /** Crash: SIGKILL (or, in-process, expire the session and drop the client). */
  kill(): void | Promise<void>;
  /** SIGSTOP, or the in-process equivalent. */
  freeze(): void;
  /** SIGCONT, or the in-process equivalent. */
  thaw(): void;
  /** Graceful close (reports `closed`). */
  close(): void;
  /** Resign the current leadership (reports `resigned`). */
  resign(): void;
  /** Makes sure it is gone. */
  dispose(): Promise<void>;
}
