import type { Leadership, Lock } from "./api.js";
import type { Candidacy } from "./candidacy.js";
import { type CandidateHost, observeCandidates } from "./candidate-observer.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { linkedSignal } from "./internal/abort.js";
import type { Member } from "./types.js";
import { validateInteger, validateOptions, validateSignal } from "./validation.js";

/** What a lock needs from its coordinator. */
export interface LockHost extends CandidateHost {
  lockCandidacy(name: string): Candidacy;
  seatHolders(group: string, seats: number): Promise<Member[]>;
  assertOpen(): void;
  /** Told of every acquisition, with the time it took in ms. */
  lockAcquired?(name: string, waited: number, token: bigint): void;
}

/**
 * A lock: a one-seat election whose candidacy is withdrawn as soon as the holder's leadership ends.
 *
 * Not re-entrant, and one acquirer per coordinator: `acquire()` or `tryAcquire()` of a lock this
 * coordinator already holds, or is already acquiring, fails at once with `ALREADY_HELD`. A Node
 * process has no thread identity to tell a re-entry from another task, so waiting would let a caller
 * wait for its own release (until its timeout, or for ever); handing out the held lock again would let
 * two tasks into the critical section.
 */
export class CoordinatorLock implements Lock {
  constructor(
    private readonly host: LockHost,
    readonly name: string,
    /** The lock's internal group. */
    readonly group: string,
  ) {}

  async acquire(options?: { timeout?: number; signal?: AbortSignal }): Promise<Leadership> {
    validateOptions("acquire options", options);
    const signal = validateSignal("signal", options?.signal);
    const timeout =
      options?.timeout === undefined
        ? undefined
        : validateInteger("timeout", options.timeout, 0, 2_147_483_647);
    this.host.assertOpen();
    const candidacy = this.host.lockCandidacy(this.name);
    this.refuseReentry(candidacy);
    // A plain timer, not AbortSignal.timeout(): on Node 20 a timeout signal inside AbortSignal.any can
    // be collected and never fire.
    const deadline = linkedSignal([signal], timeout);
    const started = performance.now();
    try {
      const held = await candidacy.campaign(deadline.signal);
      this.host.lockAcquired?.(this.name, performance.now() - started, held.token);
      return held;
    } catch (error) {
      if (deadline.timedOut && !signal?.aborted) {
        throw new RollcallError("TIMEOUT", `lock ${this.name} was not acquired within ${timeout} ms`);
      }
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  async tryAcquire(): Promise<Leadership | undefined> {
    this.host.assertOpen();
    const candidacy = this.host.lockCandidacy(this.name);
    this.refuseReentry(candidacy);
    const started = performance.now();
    const held = await candidacy.tryOnce();
    if (held) this.host.lockAcquired?.(this.name, performance.now() - started, held.token);
    return held;
  }

  async holder(): Promise<Member | undefined> {
    this.host.assertOpen();
    const [first] = await this.host.seatHolders(this.group, 1);
    return first;
  }

  async candidates(): Promise<Member[]> {
    this.host.assertOpen();
    return this.host.seatHolders(this.group, Number.POSITIVE_INFINITY);
  }

  observeCandidates(options?: { signal?: AbortSignal }): AsyncIterable<Member[]> {
    return observeCandidates(this.host, this.group, options);
  }

  private refuseReentry(candidacy: Candidacy): void {
    if (!candidacy.isActive) return;
    const how = candidacy.heldLeadership ? "already holds" : "is already acquiring";
    throw new RollcallError(
      "ALREADY_HELD",
      `lock ${this.name}: this coordinator ${how} it; locks are not re-entrant (release the leadership first, or acquire from another coordinator)`,
    );
  }

  toString(): string {
    return `Lock(${this.name})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
