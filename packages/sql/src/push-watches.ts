import type { ChangeBatch, Logger, WatchHandle, WatchListener } from "@rollcall/core/driver";
import type pg from "pg";
import { type PgListenerSubscription, subscribePg } from "./pg-listener.js";

/** One push watch of a group: NOTIFY wakes it, the change log feeds it from its cursor. */
interface PushWatch {
  group: string;
  cursor: bigint;
  listener: WatchListener;
  fetching: boolean;
  again: boolean;
  closed: boolean;
  retry: NodeJS.Timeout | undefined;
}

/** Reads a group's change log after a revision (`more`: the batch was cut at its size limit). */
export type ReadChanges = (group: string, since: bigint) => Promise<ChangeBatch & { more?: boolean }>;

/**
 * The PostgreSQL push watches of one driver: a subscription to the namespace's channel on the process's
 * LISTEN connection (see `pg-listener.ts`), and per watch a cursor into the change log. A NOTIFY for a
 * group (or the LISTEN connection coming back after a loss) makes its watches read the change log from
 * their cursors, so nothing committed is ever missed; wake-ups that arrive during a read are coalesced
 * into one more read.
 */
export class PushWatches {
  private readonly watches = new Set<PushWatch>();
  private listener: Promise<PgListenerSubscription> | undefined;
  /** Callbacks waiting for the next NOTIFY of a group (see {@link nextNotification}). */
  private readonly wakers = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly connection: () => pg.ClientConfig,
    private readonly channel: string,
    private readonly read: ReadChanges,
    private readonly logger: Logger,
  ) {}

  /** How many watches are open. */
  get size(): number {
    return this.watches.size;
  }

  /** Starts a watch from `fromRevision`; rejects if the LISTEN connection cannot be made. */
  async add(group: string, fromRevision: bigint, listener: WatchListener): Promise<WatchHandle> {
    await this.listen();
    const watch: PushWatch = {
      group,
      cursor: fromRevision,
      listener,
      fetching: false,
      again: false,
      closed: false,
      retry: undefined,
    };
    this.watches.add(watch);
    // Catch up first: whatever was committed between the snapshot and the LISTEN.
    void this.fetch(watch);
    return { close: async () => this.remove(watch) };
  }

  /**
   * Starts the LISTEN connection if it is not up yet; rejects if it cannot be made (then
   * {@link nextNotification} only resolves once a later attempt succeeds).
   */
  async ensureListening(): Promise<void> {
    await this.listen();
  }

  /**
   * Resolves at the next NOTIFY for `group`, or when the LISTEN connection comes back after a loss (a
   * NOTIFY may have been missed), or when the watches close. Register before reading what the NOTIFY
   * would announce, so a change committed meanwhile is never missed; `cancel` stops waiting.
   */
  nextNotification(group: string): { promise: Promise<void>; cancel(): void } {
    let wake: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        cancel();
        resolve();
      };
    });
    let set = this.wakers.get(group);
    if (set === undefined) {
      set = new Set();
      this.wakers.set(group, set);
    }
    const waiting = set;
    const cancel = () => {
      waiting.delete(wake);
      if (waiting.size === 0 && this.wakers.get(group) === waiting) this.wakers.delete(group);
    };
    waiting.add(wake);
    return { promise, cancel };
  }

  private wake(group: string | undefined): void {
    const sets = group === undefined ? [...this.wakers.values()] : [this.wakers.get(group)];
    for (const set of sets) for (const wake of [...(set ?? [])]) wake();
  }

  private remove(watch: PushWatch): void {
    watch.closed = true;
    clearTimeout(watch.retry);
    this.watches.delete(watch);
  }

  private listen(): Promise<PgListenerSubscription> {
    // After close() no new subscription is made: nobody would close it.
    if (this.closed) return Promise.reject(new Error("the watches are closed"));
    if (this.listener === undefined) {
      this.listener = subscribePg(
        this.connection(),
        this.channel,
        {
          notify: (group) => {
            for (const watch of this.watches) if (watch.group === group) void this.fetch(watch);
            this.wake(group);
          },
          reconnected: () => {
            for (const watch of this.watches) void this.fetch(watch);
            this.wake(undefined);
          },
        },
        this.logger,
      );
      this.listener.catch(() => {
        this.listener = undefined;
      });
    }
    return this.listener;
  }

  private async fetch(watch: PushWatch): Promise<void> {
    if (watch.closed) return;
    if (watch.fetching) {
      watch.again = true;
      return;
    }
    watch.fetching = true;
    try {
      do {
        watch.again = false;
        const batch = await this.read(watch.group, watch.cursor);
        if (watch.closed) return;
        if ("resync" in batch) {
          this.remove(watch);
          watch.listener.resync(batch.resync);
          return;
        }
        for (const event of batch.events) watch.listener.event(event);
        if (batch.revision > watch.cursor) watch.cursor = batch.revision;
        if (batch.more) watch.again = true;
      } while (watch.again && !watch.closed);
    } catch (error) {
      this.logger.debug("reading the change log failed; retrying", {
        group: watch.group,
        error: String((error as Error)?.message ?? error),
      });
      clearTimeout(watch.retry);
      watch.retry = setTimeout(() => void this.fetch(watch), 500);
      watch.retry.unref?.();
    } finally {
      watch.fetching = false;
    }
  }

  /** Ends every watch and the LISTEN connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const watch of [...this.watches]) this.remove(watch);
    this.wake(undefined);
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await listener.then((l) => l.close()).catch(() => {});
  }
}
