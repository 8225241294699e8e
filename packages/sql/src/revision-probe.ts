import type { Logger } from "@rollcall/core/driver";
import { perPool } from "./knex-pool.js";
import type { SqlStore } from "./sql-store.js";

/**
 * Change hints for MySQL/MariaDB (`Driver.changeHints`), which has no NOTIFY: while some feed of the
 * process listens, one primary-key read of the namespace's revision counter every `interval` ms — per
 * process and namespace, shared by its coordinators — and a hint when it moved. That is the whole cost of a
 * watching process on the server (`interval` 25 ms: 40 point reads a second), against a change-log read
 * per feed every `pollInterval`, which stays as the fallback.
 */
export class RevisionProbe {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  private last: bigint | undefined;
  private reading = false;

  /** The probe of `store`'s pool and namespace (`store` reads for every coordinator of it). */
  static of(store: SqlStore, interval: number, logger: Logger): RevisionProbe {
    return perPool(
      store.knex,
      `probe\0${store.tables.namespaces}\0${store.nsId}\0${interval}`,
      () => new RevisionProbe(() => store.headRevision(), interval, logger),
    );
  }

  constructor(
    /** Reads the revision counter; rejects while the database is away (the probe then waits for the next tick). */
    private readonly read: () => Promise<bigint>,
    private readonly interval: number,
    private readonly logger: Logger,
  ) {}

  /** Calls `listener` whenever the revision moved, until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.probe(), this.interval);
    this.timer.unref();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  private async probe(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const revision = await this.read();
      const moved = this.last !== undefined && revision !== this.last;
      this.last = revision;
      if (moved) for (const listener of [...this.listeners]) listener();
    } catch (error) {
      this.logger.debug("probing the revision failed", {
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.reading = false;
    }
  }

  /** Stops probing (the driver closes, or nobody listens). */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }
}
