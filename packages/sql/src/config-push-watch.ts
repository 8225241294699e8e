import {
  backoff,
  type ConfigChangeBatch,
  type ConfigWatchListener,
  type Logger,
  type WatchHandle,
} from "@rollcall/core/driver";
import { configTopic } from "./config-store.js";
import type { PushWatches } from "./push-watches.js";
import { waitFor } from "./wait-for.js";

/** Reads a store's configuration change log under a prefix after a revision. */
export type ReadConfigChanges = (since: bigint) => Promise<ConfigChangeBatch>;

/** Settings of a {@link ConfigPushWatch}. */
export interface ConfigPushWatchOptions {
  /**
   * The longest wait between two reads without a NOTIFY, in ms: the cursor then moves on with the
   * namespace head, so a quiet store's watch is not forced to resynchronise when the shared change log is
   * pruned past a cursor that nothing moved.
   */
  refresh: number;
  logger: Logger;
}

/**
 * A PostgreSQL push watch of a configuration store (under a prefix): the namespace's LISTEN connection
 * wakes it on the store's NOTIFY ({@link configTopic}) — or when that connection comes back after a loss,
 * when a NOTIFY may have been missed — and it reads the change log from its cursor. It registers for the
 * next wake-up before each read, so a change committed during a read is never missed; a cursor the log was
 * pruned past ends the watch with `resync`. A failed read is tried again with backoff, from the same cursor.
 */
export class ConfigPushWatch implements WatchHandle {
  private cursor: bigint;
  private closed = false;
  private readonly stop = new AbortController();

  constructor(
    private readonly store: string,
    fromRevision: bigint,
    private readonly listener: ConfigWatchListener,
    private readonly watches: PushWatches,
    private readonly read: ReadConfigChanges,
    private readonly options: ConfigPushWatchOptions,
    private readonly onClose: (watch: ConfigPushWatch) => void,
  ) {
    this.cursor = fromRevision;
  }

  /** Starts following: first what was committed after `fromRevision`, then each change as it comes. */
  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const next = this.watches.nextNotification(configTopic(this.store));
      let pause = this.options.refresh;
      try {
        await this.watches.ensureListening();
        for (let more = true; more && !this.closed; ) {
          const batch = await this.read(this.cursor);
          if (this.closed) break;
          if ("resync" in batch) {
            void this.close();
            this.listener.resync(batch.resync);
            break;
          }
          for (const change of batch.changes) this.listener.change(change);
          if (batch.revision > this.cursor) this.cursor = batch.revision;
          more = batch.more === true;
        }
        failures = 0;
      } catch (error) {
        failures++;
        pause = Math.min(pause, backoff(failures - 1, { initial: 100, max: 3200 }));
        this.options.logger.debug("reading the configuration change log failed; retrying", {
          config: this.store,
          error: String((error as Error)?.message ?? error),
        });
      }
      try {
        if (!this.closed) await waitFor(next.promise, pause, this.stop.signal);
      } catch {
        // Closed.
      } finally {
        next.cancel();
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.onClose(this);
  }
}
