import type { ConfigWatchListener, Logger, WatchHandle } from "@rollcall/core/driver";
import type { KeyState, StoreTracker } from "./config-tracker.js";
import { errorText } from "./zk-session.js";

/** What a watch knows the consumer has for a key: the version (or delete revision) and whether it is live. */
interface Known {
  mzxid: number;
  live: boolean;
}

/** What a {@link ConfigWatch} counts (for tests and diagnostics). */
export interface ConfigWatchStats {
  /** Rounds of reads. */
  rounds: number;
  /** Changes delivered. */
  delivered: number;
  /**
   * Changes delivered with a revision above their zxid, because a change with a larger zxid had been
   * delivered already: only after a listing that could not settle under heavy churn (see `list()`).
   */
  restamped: number;
}

/**
 * A push watch of one configuration store under a prefix, on a {@link StoreTracker}: every notification
 * makes a round that reads the keys it concerns again, and the changes found are delivered in zxid order
 * — only up to the tracker's {@link StoreTracker.bound}, so that a change never comes before an earlier
 * one to another key that is still being read.
 *
 * ZooKeeper's watches are one-shot: writes to one key in quick succession may be read as one, and only
 * the last is delivered (a key never goes back to an older version). A delete is delivered with the zxid
 * that wrote the key's tombstone (see zookeeper-config.ts).
 */
export class ConfigWatch implements WatchHandle {
  private readonly known = new Map<string, Known>();
  private readonly held = new Map<string, KeyState>();
  private last: bigint;
  private running = false;
  private dirty = false;
  private closed = false;

  /**
   * @param baseline the keys as the consumer's listing had them, when the tracker is the one that made
   *   that listing; without it, a key read for the first time is a change when its zxid is above
   *   `fromRevision`.
   */
  constructor(
    private readonly tracker: StoreTracker,
    private readonly fromRevision: bigint,
    private readonly baseline: Map<string, KeyState> | undefined,
    private readonly listener: ConfigWatchListener,
    private readonly options: {
      logger: Logger;
      onClose: () => void;
      /** Counters this watch adds to (shared by the store's watches). */
      stats: ConfigWatchStats;
    },
  ) {
    this.last = fromRevision;
    for (const [name, state] of baseline ?? [])
      this.known.set(name, { mzxid: state.mzxid, live: state.live });
    tracker.onPending = () => this.schedule();
    this.schedule();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tracker.close();
    this.options.onClose();
  }

  /** Continuity is lost (a reconnect, a failed read): core re-lists and watches again. */
  resync(reason: string): void {
    if (this.closed) return;
    void this.close();
    this.listener.resync(reason);
  }

  private schedule(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      let read: Map<string, KeyState | null>;
      try {
        read = await this.tracker.round();
      } catch (error) {
        if (!this.closed) {
          this.options.logger.debug("a configuration watch failed; re-listing", {
            config: this.tracker.store,
            error: errorText(error),
          });
          this.resync(`the watch failed: ${errorText(error)}`);
        }
        break;
      }
      if (this.closed) break;
      this.options.stats.rounds++;
      for (const [name, state] of read) this.consider(name, state);
      if (this.closed) break;
      this.deliver();
      if (!this.tracker.settled) this.dirty = true;
    }
    this.running = false;
  }

  /** A key as just read: holds it for delivery if the consumer does not have it. */
  private consider(name: string, state: KeyState | null): void {
    let known = this.known.get(name);
    if (state === null) {
      this.held.delete(name);
      if (known?.live) {
        // Rollcall only deletes a key's znode once it has been absent for the retention: someone else did.
        this.resync("a configuration key's znode was deleted by another ZooKeeper client");
        return;
      }
      this.known.delete(name);
      return;
    }
    if (known === undefined) {
      if (this.baseline !== undefined) {
        // A znode created after the listing: the consumer does not have the key.
        known = { mzxid: 0, live: false };
      } else if (BigInt(state.mzxid) <= this.fromRevision) {
        this.known.set(name, { mzxid: state.mzxid, live: state.live });
        return;
      } else {
        // Changed after the revision the watch starts from: the consumer may have had the key.
        known = { mzxid: 0, live: true };
      }
      this.known.set(name, known);
    }
    const held = this.held.get(name);
    if (state.mzxid <= Math.max(known.mzxid, held?.mzxid ?? 0)) return;
    if (!state.live && !known.live) {
      // Absent, and absent to the consumer: nothing to tell.
      this.held.delete(name);
      this.known.set(name, { mzxid: state.mzxid, live: false });
      return;
    }
    this.held.set(name, state);
  }

  /** Delivers the held changes the tracker's knowledge is complete for, in zxid order. */
  private deliver(): void {
    if (this.held.size === 0) return;
    const bound = this.tracker.bound();
    const ready = [...this.held].filter(([, state]) => state.mzxid <= bound);
    ready.sort((a, b) => a[1].mzxid - b[1].mzxid);
    for (const [name, state] of ready) {
      if (this.closed) return;
      this.held.delete(name);
      this.known.set(name, { mzxid: state.mzxid, live: state.live });
      const zxid = BigInt(state.mzxid);
      let revision = zxid;
      if (revision <= this.last) {
        revision = this.last + 1n;
        this.options.stats.restamped++;
      }
      this.last = revision;
      this.options.stats.delivered++;
      if (state.live) {
        this.listener.change({
          type: "put",
          entry: {
            key: state.key,
            value: state.value ?? null,
            version: zxid,
            updatedAt: state.mtime,
          },
          revision,
        });
      } else {
        this.listener.change({ type: "delete", key: state.key, revision });
      }
    }
  }
}
