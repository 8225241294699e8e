import type { Leadership } from "./api.js";
import { RollcallError } from "./errors/rollcall-error.js";
import type { Session } from "./session.js";

/**
 * A held seat. Ends (its signal aborts) on resign, when the session stops being `connected`, when the
 * session's validity deadline passes without a renewal, or when the candidacy vanished.
 */
export class HeldLeadership implements Leadership {
  private readonly controller = new AbortController();
  private endedAtWall: number | undefined;
  readonly electedAt = new Date();
  private readonly onValidityLost: (reason: string) => void;

  constructor(
    /** Whether this is a seat of an election or a lock (reported with the `leadership` event). */
    readonly kind: "election" | "lock",
    readonly name: string,
    readonly token: bigint,
    private readonly session: Session,
    private readonly resignCandidacy: () => Promise<void>,
  ) {
    this.onValidityLost = (reason) => this.end(reason);
    session.validityLost.add(this.onValidityLost);
    session.reportLeadership(this, "elected");
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get validUntil(): Date {
    if (this.endedAtWall !== undefined) return new Date(this.endedAtWall);
    return new Date(Date.now() + (this.session.validUntil - performance.now()));
  }

  isValid(): boolean {
    return !this.controller.signal.aborted && this.session.isValid();
  }

  /** Ends the leadership (idempotent); the reason becomes a `NOT_LEADER` error on the signal. */
  end(reason: string): void {
    if (this.controller.signal.aborted) return;
    this.endedAtWall = Math.min(Date.now(), this.validUntil.getTime());
    this.session.validityLost.remove(this.onValidityLost);
    this.controller.abort(new RollcallError("NOT_LEADER", `leadership of ${this.name} ended: ${reason}`));
    this.session.reportLeadership(this, "ended", reason);
  }

  async resign(): Promise<void> {
    this.end("resigned");
    await this.resignCandidacy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }

  toString(): string {
    return `Leadership(${this.name}, token ${this.token}${this.signal.aborted ? ", ended" : ""})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
