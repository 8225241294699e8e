import type { ConnectionUrl, Logger } from "@rollcall/core/driver";
import { defineParams, parseParams } from "@rollcall/core/driver";
import type { JournalKeeper } from "./group-watch.js";
import type { Layout } from "./layout.js";
import { CreateFlag, Rc } from "./zk-binding.js";
import { errorText, type ZkSession } from "./zk-session.js";
import { ensureZnode, forEachBounded, removeTree } from "./znodes.js";

/** Deletes a sweep keeps in flight at once: the server sees a trickle, never a burst. */
export const SWEEP_CONCURRENCY = 8;

/** The sequence number ZooKeeper appended to a sequential znode's name, or undefined. */
export function sequenceOf(name: string): number | undefined {
  const match = /-(-?\d{10})$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** What one sweep did, for tests and diagnostics. */
export interface SweepReport {
  /** Records in the listing. */
  records: number;
  /** `exists` requests of the binary search. */
  probes: number;
  /** Records older than the retention, deleted (or found deleted already). */
  deleted: number;
}

/**
 * Writing and garbage-collecting a group's journal (`/<ns>/.journal/<group>/`): leave intents and update
 * records are persistent sequential znodes — TTL znodes when the server allows them
 * (`zookeeper.extendedTypesEnabled=true`), which the server deletes by itself once they are older than the
 * retention, even with no client left.
 *
 * Sweeping, judged by the server's clock (znode ctimes and mtimes) so client clocks do not matter:
 *
 * - **Who.** Every coordinator that writes to a group's journal or watches the group offers to sweep it,
 *   at most once per {@link sweepInterval} (a quarter of the retention, ± 25 % jitter) per group. An offer
 *   costs one `exists` of the journal znode: its mtime says when the journal was last swept. Only when that
 *   is a sweep interval ago does the coordinator *claim* the sweep with a conditional `setData` on the
 *   journal znode (its data version as the condition: of coordinators racing, one wins); the others stop.
 *   So one coordinator sweeps per interval however many offer, and the journal stays bounded by about
 *   1.6 × the retention even when every writer is gone, as long as a watcher remains (TTL records need
 *   nobody).
 * - **How.** The records' sequence numbers grow with their creation, and so do their ctimes: sorted by
 *   sequence number, the records older than the retention are a prefix, found by a binary search with
 *   O(log n) `exists` (a record found deleted was swept: it is old). That prefix is deleted with at most
 *   {@link SWEEP_CONCURRENCY} requests in flight. A sweep used to ask for every record's stat at once —
 *   tens of thousands of requests per coordinator in one burst.
 */
export class Journal implements JournalKeeper {
  /** When (performance.now()) each group may next be offered a sweep. */
  private readonly nextOffer = new Map<string, number>();
  /** Per group: the journal znode's mtime as last seen, and since when (performance.now()) it has not changed. */
  private readonly markers = new Map<string, { mtime: number; since: number }>();
  private readonly sweeping = new Set<string>();
  /** Whether the server takes TTL records; undefined until the first record says. */
  private ttl: boolean | undefined;
  /** The newest server timestamp seen, and when (performance.now()). */
  private clock: { server: number; local: number } | undefined;
  /** What the sweeps did, summed (for tests and diagnostics). */
  readonly stats = { offers: 0, claims: 0, sweeps: 0, probes: 0, deleted: 0 };

  constructor(
    private readonly layout: Layout,
    private readonly owned: boolean,
    /** How long records are kept, in ms. */
    readonly retention: number,
    private readonly logger: Logger,
    private readonly options: { ttl?: boolean } = {},
  ) {}

  /** How often one coordinator offers to sweep one group's journal, ms (before jitter). */
  get sweepInterval(): number {
    return Math.max(250, Math.floor(this.retention / 4));
  }

  /** Whether records are TTL znodes (undefined until the first record was written). */
  get usesTtl(): boolean | undefined {
    return this.ttl;
  }

  /** Creates the journal of `group` (and the journal root) if missing. Resolves with an rc. */
  async ensure(session: ZkSession, group: string): Promise<number> {
    const rc = await ensureZnode(session, this.layout.journalRoot, this.owned);
    return rc === Rc.OK ? ensureZnode(session, this.layout.journal(group), this.owned) : rc;
  }

  /** Appends a record (`prefix` gets the sequence number), creating the journal on first use. */
  async append(session: ZkSession, group: string, prefix: string, data: Buffer): Promise<number> {
    let created = await this.createRecord(session, prefix, data);
    if (created === Rc.NONODE) {
      const rc = await this.ensure(session, group);
      if (rc !== Rc.OK) return rc;
      created = await this.createRecord(session, prefix, data);
    }
    return created;
  }

  /** One record: a TTL znode unless the server refused one before (then, and from then on, a plain one). */
  private async createRecord(session: ZkSession, prefix: string, data: Buffer): Promise<number> {
    if (this.ttl !== false && this.options.ttl !== false) {
      const created = await session.createTtl(
        prefix,
        data,
        CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL,
        this.retention,
      );
      if (created.rc !== Rc.UNIMPLEMENTED) {
        if (created.ok) this.ttl = true;
        return created.rc;
      }
      this.ttl = false;
      this.logger.debug("the server does not allow TTL znodes: journal records are swept by clients only");
    }
    return (await session.create(prefix, data, CreateFlag.PERSISTENT_SEQUENTIAL)).rc;
  }

  /** Removes the journal of a deleted group. Best effort. */
  remove(session: ZkSession, group: string): Promise<void> {
    this.nextOffer.delete(group);
    this.markers.delete(group);
    return removeTree(session, this.layout.journal(group)).catch(() => {});
  }

  /** A server timestamp (a ctime or mtime) just seen: with the local clock since, the server's "now". */
  serverTime(ms: number): void {
    if (!(ms > 0)) return;
    const local = performance.now();
    if (!this.clock || ms > this.clock.server + (local - this.clock.local))
      this.clock = { server: ms, local };
  }

  /** The server's time now, as far as we can tell (undefined before any server timestamp was seen). */
  private serverNow(): number | undefined {
    return this.clock && this.clock.server + (performance.now() - this.clock.local);
  }

  /**
   * Offers to sweep the group's journal in the background if this coordinator has not offered for a
   * (jittered) sweep interval. `listed`: the journal's children just listed, if the caller has them.
   */
  sweepSoon(session: ZkSession, group: string, listed?: string[]): void {
    const now = performance.now();
    if (now < (this.nextOffer.get(group) ?? Number.NEGATIVE_INFINITY) || this.sweeping.has(group)) return;
    this.nextOffer.set(group, now + this.sweepInterval * (0.75 + Math.random() / 2));
    this.sweeping.add(group);
    void this.offer(session, group, listed)
      .catch((error: unknown) => {
        this.logger.debug("sweeping the journal failed", { group, error: errorText(error) });
      })
      .finally(() => this.sweeping.delete(group));
  }

  /** Forgets when each group was offered (a new session offers again). */
  reset(): void {
    this.nextOffer.clear();
    this.markers.clear();
  }

  /** Sweeps if it is due and this coordinator wins the claim. Resolves with what it did, if it swept. */
  async offer(session: ZkSession, group: string, listed?: string[]): Promise<SweepReport | undefined> {
    this.stats.offers++;
    const journal = this.layout.journal(group);
    const marker = await session.exists(journal);
    if (!marker.ok) return undefined;
    // Due when the journal was last swept (its mtime) a sweep interval ago: told by the server's time as
    // far as we know it, or by our own clock once the same mtime has been seen for that long. Neither
    // known (a first look without a recent server timestamp): claim.
    const mtime = marker.value.mtime.getTime();
    const now = performance.now();
    const seen = this.markers.get(group);
    const since = seen?.mtime === mtime ? seen.since : now;
    this.markers.set(group, { mtime, since });
    const due = this.sweepInterval * 0.9;
    const estimate = this.serverNow();
    if (now - since < due && (seen !== undefined || estimate !== undefined)) {
      if (estimate === undefined || estimate - mtime < due) return undefined;
    }
    const claimed = await session.set(journal, Buffer.alloc(0), marker.value.version);
    if (!claimed.ok) return undefined; // BADVERSION: another coordinator claimed it; NOAUTH: not ours to sweep
    this.stats.claims++;
    const serverNow = claimed.value.mtime.getTime();
    this.serverTime(serverNow);
    return this.sweep(session, group, serverNow, listed);
  }

  /**
   * Deletes the records older than the retention at `serverNow`: sorted by sequence number, they are a
   * prefix; its end is found with a binary search over the records' ctimes.
   */
  async sweep(
    session: ZkSession,
    group: string,
    serverNow: number,
    listed?: string[],
  ): Promise<SweepReport | undefined> {
    const journal = this.layout.journal(group);
    let names = listed;
    if (!names) {
      const reply = await session.children(journal);
      if (!reply.ok) return undefined;
      names = reply.value.children;
    }
    const records = names
      .map((name) => ({ name, seq: sequenceOf(name) }))
      .filter((r): r is { name: string; seq: number } => r.seq !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const cutoff = serverNow - this.retention;
    // Invariant: records[0, lo) are older than the cutoff, records[hi, n) are not.
    let lo = 0;
    let hi = records.length;
    let probes = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const record = records[mid] as { name: string };
      const stat = await session.exists(`${journal}/${record.name}`);
      probes++;
      if (stat.rc === Rc.NONODE || (stat.ok && stat.value.ctime.getTime() < cutoff)) lo = mid + 1;
      else if (stat.ok) hi = mid;
      else return undefined; // connection trouble: another time
    }
    const total = records.length;
    // Only the expired names stay referenced while the deletes trickle out.
    const expired = records.slice(0, lo).map((record) => `${journal}/${record.name}`);
    records.length = 0;
    names = undefined;
    await forEachBounded(expired, SWEEP_CONCURRENCY, (path) => session.delete(path));
    this.stats.sweeps++;
    this.stats.probes += probes;
    this.stats.deleted += lo;
    return { records: total, probes, deleted: lo };
  }
}

/** The ZooKeeper backend's own URL query keys (core handles the common ones). */
export const ZOOKEEPER_PARAMS = defineParams({
  journalRetention: { type: "integer", min: 1000, max: 86_400_000, hint: "ms" },
});

/**
 * `journalRetention` from the URL, or the default: max(60 s, 10 × sessionTimeout). `given` is the value
 * core parsed (`config.options.journalRetention`); without it the URL's is read here.
 */
export function journalRetention(
  url: ConnectionUrl,
  sessionTimeout: number,
  given: number | undefined = parseParams(url, ZOOKEEPER_PARAMS).journalRetention,
): number {
  return given ?? Math.max(60_000, 10 * sessionTimeout);
}
