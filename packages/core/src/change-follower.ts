import type { WatchHandle } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { delay } from "./internal/abort.js";
import { backoff } from "./internal/backoff.js";
import type { Session } from "./session.js";
import { errorText } from "./session.js";
import type { Logger } from "./types.js";

/** Settings of a {@link ChangeFollower}. */
export interface FollowerOptions {
  pollInterval: number;
  retryInterval: number;
  logger: Logger;
}

/** How a follower reads its source: a listing, and a push watch or an ordered change log after a revision. */
export interface ChangeSource<L extends { revision: bigint }, C extends { revision: bigint }> {
  /** A consistent listing with the revision it is at. */
  list(): Promise<L>;
  /** Push: every change after `from`, in order; `resync` when continuity is lost. */
  watch?(
    from: bigint,
    listener: { change(change: C): void; resync(reason: string): void },
  ): Promise<WatchHandle>;
  /** Poll: the ordered changes after `since` (`more`: ask again at once), or a request to re-list. */
  changes?(since: bigint): Promise<{ changes: C[]; revision: bigint; more?: boolean } | { resync: string }>;
  /** With `changes`: hints that the log may have grown, so it is read at once (see `Driver.changeHints`). */
  hints?(listener: () => void): () => void;
  /**
   * With `changes` and `hints`: the hints are the server's push — one for every commit, and one whenever
   * the hint channel comes (back) up — so the log is read on a hint only, never on a timer.
   */
  pushed?: boolean;
}

/**
 * The change-log follower every shared feed of core is built on (a group's membership, a configuration
 * store): it lists once, then follows the source's push watch or polls its change log every
 * `pollInterval`, applies changes in revision order and drops those at or below the revision it has
 * seen, and after lost continuity (the source asks for a resync, the session was re-opened) re-lists and
 * reports the difference ({@link reconcile}), then follows again. A subclass keeps the state and says how
 * a listing and a change apply; it calls {@link begin} at the end of its constructor.
 *
 * @typeParam L a listing, with its revision
 * @typeParam C a change, with its revision
 * @typeParam E the events subscribers get
 */
export abstract class ChangeFollower<L extends { revision: bigint }, C extends { revision: bigint }, E> {
  /** The revision the state is current at (`-1n` before the first listing). */
  protected seen = -1n;
  private epoch = 0;
  private handle: WatchHandle | undefined;
  private stopped = false;
  private resyncing: Promise<void> | undefined;
  private readonly subscribers = new Set<(event: E) => void>();
  private stopSession: () => void = () => {};
  /** Ends the poll loop's wait early (a hint, a resync, stop). */
  private wakePoll: (() => void) | undefined;
  /** Resolves when the first listing is in; rejects (e.g. `GROUP_NOT_FOUND`) if it cannot be had. */
  ready!: Promise<void>;

  constructor(
    private readonly source: ChangeSource<L, C>,
    private readonly session: Session,
    protected readonly options: FollowerOptions,
    /** Log fields naming what is followed, e.g. `{ group }`. */
    private readonly subject: Record<string, string>,
  ) {}

  /** Takes the first listing. */
  protected abstract load(listing: L): void;
  /** Applies one change above {@link seen} (already recorded as seen). */
  protected abstract applyChange(change: C): void;
  /** Brings the state to a fresh listing after lost continuity, reporting the difference. */
  protected abstract reconcile(listing: L): void;
  /** A listing to use when re-listing fails with `error` (e.g. an empty one for a deleted group), else `undefined`. */
  protected relistFallback(_error: unknown): L | undefined {
    return undefined;
  }

  /** Starts following; subclasses call it last in their constructor. */
  protected begin(): void {
    const onReopened = () => this.requestResync("the session was re-opened");
    this.session.reopened.add(onReopened);
    this.stopSession = () => this.session.reopened.remove(onReopened);
    this.ready = this.start();
    this.ready.catch(() => this.stop());
  }

  /** Adds a subscriber; it gets every event from now on. Read the state first. */
  subscribe(listener: (event: E) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  protected emit(event: E): void {
    for (const listener of [...this.subscribers]) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error("a listener threw", { ...this.subject, error: errorText(error) });
      }
    }
  }

  private async start(): Promise<void> {
    const listing = await this.source.list();
    this.load(listing);
    this.seen = listing.revision;
    await this.follow();
  }

  private async follow(): Promise<void> {
    const epoch = ++this.epoch;
    if (this.stopped) return;
    if (this.source.watch) {
      const handle = await this.source.watch(this.seen, {
        change: (change) => {
          if (epoch === this.epoch) this.take(change);
        },
        resync: (reason) => {
          if (epoch === this.epoch) this.requestResync(reason);
        },
      });
      if (epoch !== this.epoch || this.stopped) {
        await handle.close();
        return;
      }
      this.handle = handle;
    } else if (this.source.changes) {
      void this.pollLoop(epoch);
    } else {
      throw new RollcallError("NOT_SUPPORTED", "the driver implements neither a watch nor a change log");
    }
  }

  private async pollLoop(epoch: number): Promise<void> {
    const changes = this.source.changes?.bind(this.source);
    if (!changes) return;
    // A hint ends the wait at once; one that comes while a read is under way makes one more read.
    let hinted = false;
    // Hints are an optimisation: a driver whose subscription throws is polled without them.
    let unhint: (() => void) | undefined;
    try {
      unhint = this.source.hints?.(() => {
        hinted = true;
        this.wakePoll?.();
      });
    } catch (error) {
      this.options.logger.debug("subscribing to change hints failed; polling only", {
        ...this.subject,
        error: errorText(error),
      });
    }
    // Pushed hints: no timer; read once now (what was committed before the subscription), then on each
    // hint, and again with backoff after a failed read.
    const pushed = this.source.pushed === true && unhint !== undefined;
    let due = pushed;
    let failures = 0;
    let more = false;
    try {
      while (epoch === this.epoch && !this.stopped) {
        // A batch cut short is followed at once, so a busy source never falls behind the poll interval.
        if (!more && !hinted && !due) {
          const wait = !pushed
            ? this.options.pollInterval
            : failures > 0
              ? backoff(failures - 1, { initial: 100, max: this.options.retryInterval })
              : undefined;
          await new Promise<void>((resolve) => {
            const timer = wait === undefined ? undefined : setTimeout(() => this.wakePoll?.(), wait);
            this.wakePoll = () => {
              clearTimeout(timer);
              this.wakePoll = undefined;
              resolve();
            };
          });
        }
        hinted = false;
        more = false;
        due = false;
        if (epoch !== this.epoch || this.stopped) return;
        if (this.session.state !== "connected") {
          if (!pushed) continue;
          // No timer will read later: wait for the session to be back, then read.
          try {
            await this.session.whenConnected();
          } catch {
            return;
          }
          if (epoch !== this.epoch || this.stopped) return;
        }
        try {
          const batch = await changes(this.seen);
          if (epoch !== this.epoch || this.stopped) return;
          if ("resync" in batch) {
            this.requestResync(batch.resync);
            return;
          }
          for (const change of batch.changes) this.take(change);
          if (batch.revision > this.seen) this.seen = batch.revision;
          more = batch.more === true;
          failures = 0;
        } catch (error) {
          failures++;
          this.options.logger.debug("polling the change log failed", {
            ...this.subject,
            error: errorText(error),
          });
        }
      }
    } finally {
      unhint?.();
    }
  }

  private take(change: C): void {
    if (change.revision <= this.seen) return;
    this.seen = change.revision;
    this.applyChange(change);
  }

  /** Re-lists, reports the difference, and follows from there. */
  requestResync(reason: string): void {
    if (this.stopped) return;
    this.options.logger.debug("resynchronising", { ...this.subject, reason });
    this.epoch++;
    this.wakePoll?.();
    const handle = this.handle;
    this.handle = undefined;
    if (handle) void handle.close().catch(() => {});
    if (this.resyncing) return;
    this.resyncing = this.resyncLoop().finally(() => {
      this.resyncing = undefined;
    });
  }

  private async resyncLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        await this.session.whenConnected();
      } catch {
        return;
      }
      let listing: L;
      try {
        listing = await this.source.list();
      } catch (error) {
        const fallback = this.relistFallback(error);
        if (fallback === undefined) {
          attempt++;
          this.options.logger.debug("re-listing failed; will retry", {
            ...this.subject,
            error: errorText(error),
          });
          await delay(backoff(attempt - 1, { initial: 250, max: this.options.retryInterval })).catch(
            () => {},
          );
          continue;
        }
        listing = fallback;
      }
      if (this.stopped) return;
      this.reconcile(listing);
      try {
        await this.follow();
        return;
      } catch (error) {
        attempt++;
        this.options.logger.debug("re-watching failed; will retry", {
          ...this.subject,
          error: errorText(error),
        });
        await delay(backoff(attempt - 1, { initial: 250, max: this.options.retryInterval })).catch(() => {});
      }
    }
  }

  /** Stops following. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.epoch++;
    this.wakePoll?.();
    this.stopSession();
    const handle = this.handle;
    this.handle = undefined;
    if (handle) void handle.close().catch(() => {});
  }
}
