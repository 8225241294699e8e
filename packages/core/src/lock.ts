import type { Leadership, Lock } from "./api.js";
import type { Candidacy } from "./candidacy.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { validateInteger, validateOptions, validateSignal } from "./validation.js";

/** What a lock needs from its coordinator. */
export interface LockHost {
  lockCandidacy(name: string): Candidacy;
  assertOpen(): void;
}

/**
 * A lock: a one-seat election whose candidacy is withdrawn as soon as the holder's leadership ends.
 * Acquirers in the same coordinator queue locally in front of it, so the backend sees one candidate
 * per coordinator.
 */
export class CoordinatorLock implements Lock {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: LockHost,
    readonly name: string,
  ) {}

  async acquire(options?: { timeout?: number; signal?: AbortSignal }): Promise<Leadership> {
    validateOptions("acquire options", options);
    const signal = validateSignal("signal", options?.signal);
    const timeout =
      options?.timeout === undefined
        ? undefined
        : validateInteger("timeout", options.timeout, 0, 2_147_483_647);
    this.host.assertOpen();
    const timer = timeout === undefined ? undefined : AbortSignal.timeout(timeout);
    const combined = AbortSignal.any([signal, timer].filter((s): s is AbortSignal => s !== undefined));
    const previous = this.tail;
    let releaseLocal!: () => void;
    const mine = new Promise<void>((resolve) => {
      releaseLocal = resolve;
    });
    this.tail = previous.then(() => mine);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(combined.reason);
        if (combined.aborted) onAbort();
        combined.addEventListener("abort", onAbort, { once: true });
        void previous.then(() => {
          combined.removeEventListener("abort", onAbort);
          resolve();
        });
      });
      const leadership = await this.host.lockCandidacy(this.name).campaign(combined);
      leadership.signal.addEventListener("abort", () => releaseLocal(), { once: true });
      return leadership;
    } catch (error) {
      releaseLocal();
      if (timer?.aborted && !signal?.aborted) {
        throw new RollcallError("TIMEOUT", `lock ${this.name} was not acquired within ${timeout} ms`);
      }
      throw error;
    }
  }

  async tryAcquire(): Promise<Leadership | undefined> {
    this.host.assertOpen();
    const candidacy = this.host.lockCandidacy(this.name);
    if (candidacy.isActive) return undefined;
    const previous = this.tail;
    let releaseLocal!: () => void;
    const mine = new Promise<void>((resolve) => {
      releaseLocal = resolve;
    });
    this.tail = previous.then(() => mine);
    try {
      const leadership = await candidacy.tryOnce();
      if (!leadership) {
        releaseLocal();
        return undefined;
      }
      leadership.signal.addEventListener("abort", () => releaseLocal(), { once: true });
      return leadership;
    } catch (error) {
      releaseLocal();
      throw error;
    }
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
