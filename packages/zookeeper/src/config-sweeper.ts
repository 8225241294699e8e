import type { Logger } from "@rollcall/core/driver";
import type { Layout } from "./layout.js";
import { errorText, type ZkSession } from "./zk-session.js";
import { forEachBounded } from "./znodes.js";

/** Requests a sweep keeps in flight at once. */
const SWEEP_CONCURRENCY = 8;

/** What the sweeps did, summed (for tests and diagnostics). */
export interface TombstoneSweepStats {
  offers: number;
  claims: number;
  sweeps: number;
  deleted: number;
}

/**
 * Garbage-collects the tombstones of configuration stores: a deleted key keeps its znode, emptied (see
 * zookeeper-config.ts), and so does a key whose writer prepared its znode and never wrote it. Once such
 * a znode has been empty for the retention (judged by the server's clock: its mtime against the mtime
 * of a write the sweeper just made), it is deleted — with its data version as the condition, so a key
 * written in the meantime stays.
 *
 * A coordinator offers to sweep a store when it deletes a key or lists the store, at most once per
 * {@link interval} per store; the offer *claims* the sweep with a conditional write to the store's znode
 * (of coordinators racing, one wins), and sweeps only if the previous claim is an interval old.
 */
export class TombstoneSweeper {
  private readonly nextOffer = new Map<string, number>();
  private readonly sweeping = new Set<string>();
  readonly stats: TombstoneSweepStats = { offers: 0, claims: 0, sweeps: 0, deleted: 0 };

  constructor(
    private readonly layout: Layout,
    /** How long an empty znode is kept, in ms. */
    readonly retention: number,
    private readonly logger: Logger,
  ) {}

  /** How often one coordinator offers to sweep one store, ms. */
  get interval(): number {
    return Math.max(250, Math.floor(this.retention / 4));
  }

  /** Offers to sweep the store in the background, unless this coordinator offered within the interval. */
  sweepSoon(session: ZkSession, store: string): void {
    const now = performance.now();
    if (now < (this.nextOffer.get(store) ?? Number.NEGATIVE_INFINITY) || this.sweeping.has(store)) return;
    this.nextOffer.set(store, now + this.interval * (0.75 + Math.random() / 2));
    this.sweeping.add(store);
    void this.offer(session, store)
      .catch((error: unknown) => {
        this.logger.debug("sweeping a configuration store failed", {
          config: store,
          error: errorText(error),
        });
      })
      .finally(() => this.sweeping.delete(store));
  }

  /** Forgets when each store was offered. */
  reset(): void {
    this.nextOffer.clear();
  }

  /** Claims and sweeps the store if its last sweep is an interval old. Resolves with the znodes deleted. */
  async offer(session: ZkSession, store: string): Promise<number | undefined> {
    this.stats.offers++;
    const path = this.layout.configStore(store);
    const marker = await session.exists(path);
    if (!marker.ok) return undefined;
    const claimed = await session.set(path, Buffer.alloc(0), marker.value.version);
    if (!claimed.ok) return undefined; // BADVERSION: another coordinator claimed it; NOAUTH: not ours
    this.stats.claims++;
    const serverNow = claimed.value.mtime.getTime();
    // The first claim of a store (version 0: never claimed) sweeps at once.
    if (marker.value.version > 0 && serverNow - marker.value.mtime.getTime() < this.interval * 0.9)
      return undefined;
    return this.sweep(session, store, serverNow);
  }

  /** Deletes the store's znodes that have been empty since before `serverNow` minus the retention. */
  async sweep(session: ZkSession, store: string, serverNow: number): Promise<number | undefined> {
    const path = this.layout.configStore(store);
    const listed = await session.children(path);
    if (!listed.ok) return undefined;
    const cutoff = serverNow - this.retention;
    let deleted = 0;
    await forEachBounded(listed.value.children, SWEEP_CONCURRENCY, async (name) => {
      const child = `${path}/${name}`;
      const stat = await session.exists(child);
      if (!stat.ok || stat.value.dataLength > 0 || stat.value.mtime.getTime() >= cutoff) return;
      // BADVERSION: written since; NONODE: swept by another coordinator.
      if ((await session.delete(child, stat.value.version)).ok) deleted++;
    });
    this.stats.sweeps++;
    this.stats.deleted += deleted;
    return deleted;
  }
}
