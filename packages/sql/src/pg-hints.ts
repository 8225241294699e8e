import { backoff, type Logger } from "@rollcall/core/driver";
import type pg from "pg";
import { type PgListenerSubscription, subscribePg } from "./pg-listener.js";

/**
 * PostgreSQL's change hints (`Driver.changeHints`) for one driver: a subscription to the namespace's
 * channel on the process's LISTEN connection (see `pg-listener.ts`). Every commit that grows the change
 * log sends a NOTIFY naming its group (or `configHintTopic(store)`), which is handed on as the hint's
 * topic; core's feeds then read the log from their cursors (no watch code here: core follows the log). A
 * hint without a topic goes out whenever the channel comes up — at the first LISTEN and after a lost
 * connection, when a NOTIFY may have been missed — and every `refresh` ms, so a quiet feed's cursor moves
 * on with the log's head before pruning passes it. While the channel cannot be made, it is tried again
 * with backoff as long as someone listens.
 */
export class PgHints {
  private readonly listeners = new Set<(topic?: string) => void>();
  /** Callbacks waiting for the next NOTIFY of a topic (see {@link nextNotification}). */
  private readonly wakers = new Map<string, Set<() => void>>();
  private subscription: Promise<PgListenerSubscription> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly connection: () => pg.ClientConfig,
    private readonly channel: string,
    private readonly refresh: number,
    private readonly logger: Logger,
  ) {}

  /** How many feeds listen. */
  get size(): number {
    return this.listeners.size;
  }

  /** Hints to `listener` (see the class); returns the unsubscription. */
  subscribe(listener: (topic?: string) => void): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    void this.listen().catch(() => undefined);
    this.armRefresh();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.refreshTimer);
        this.refreshTimer = undefined;
      }
    };
  }

  /** Starts the LISTEN connection if it is not up yet; rejects if it cannot be made. */
  async ensureListening(): Promise<void> {
    await this.listen();
  }

  /**
   * Resolves at the next NOTIFY for `topic`, or when the LISTEN connection comes back after a loss (a
   * NOTIFY may have been missed), or when the hints close. Register before reading what the NOTIFY would
   * announce, so a change committed meanwhile is never missed; `cancel` stops waiting.
   */
  nextNotification(topic: string): { promise: Promise<void>; cancel(): void } {
    let wake: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        cancel();
        resolve();
      };
    });
    let set = this.wakers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.wakers.set(topic, set);
    }
    const waiting = set;
    const cancel = () => {
      waiting.delete(wake);
      if (waiting.size === 0 && this.wakers.get(topic) === waiting) this.wakers.delete(topic);
    };
    waiting.add(wake);
    return { promise, cancel };
  }

  /** Ends the hints and this driver's subscription to the LISTEN connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.refreshTimer);
    this.listeners.clear();
    this.hint(undefined);
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) await subscription.then((s) => s.close()).catch(() => {});
  }

  private hint(topic: string | undefined): void {
    for (const listener of [...this.listeners]) listener(topic);
    const sets = topic === undefined ? [...this.wakers.values()] : [this.wakers.get(topic)];
    for (const set of sets) for (const wake of [...(set ?? [])]) wake();
  }

  private armRefresh(): void {
    if (this.refreshTimer !== undefined || this.closed) return;
    this.refreshTimer = setInterval(() => {
      for (const listener of [...this.listeners]) listener(undefined);
    }, this.refresh);
    this.refreshTimer.unref?.();
  }

  private listen(): Promise<PgListenerSubscription> {
    // After close() no new subscription is made: nobody would close it.
    if (this.closed) return Promise.reject(new Error("the change hints are closed"));
    if (this.subscription === undefined) {
      const made = subscribePg(
        this.connection(),
        this.channel,
        { notify: (topic) => this.hint(topic), reconnected: () => this.hint(undefined) },
        this.logger,
      );
      this.subscription = made;
      made.then(
        () => {
          this.failures = 0;
          // The channel is up: whatever was committed before it is read once.
          this.hint(undefined);
        },
        (error: unknown) => {
          if (this.subscription === made) this.subscription = undefined;
          this.failures++;
          this.logger.debug("LISTEN failed; retrying", { error: String((error as Error)?.message ?? error) });
          if (this.listeners.size === 0 || this.closed) return;
          clearTimeout(this.retry);
          this.retry = setTimeout(
            () => void this.listen().catch(() => undefined),
            backoff(this.failures - 1, { initial: 100, max: 3200 }),
          );
          this.retry.unref?.();
        },
      );
    }
    return this.subscription;
  }
}
