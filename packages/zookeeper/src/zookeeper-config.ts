import {
  type ConfigDriver,
  type ConfigListing,
  type ConfigRecord,
  type ConfigWatchListener,
  driverClosed,
  type Json,
  type Logger,
  noSession,
  RollcallError,
  validateConfigName,
  versionMismatch,
  type WatchHandle,
} from "@rollcall/core/driver";
import { TombstoneSweeper } from "./config-sweeper.js";
import { type KeyState, keyState, RoundFailure, StoreTracker } from "./config-tracker.js";
import { ConfigWatch, type ConfigWatchStats } from "./config-watch.js";
import { zkError } from "./errors.js";
import { encodeConfigKey, type Layout } from "./layout.js";
import { CreateFlag, Rc, type ZkStat } from "./zk-binding.js";
import type { Reply, ZkSession } from "./zk-session.js";
import { ensureZnode, restrict } from "./znodes.js";

/** What the configuration store needs of its {@link ZooKeeperDriver}. */
export interface ConfigLink {
  readonly layout: Layout;
  /** Whether the URL carries credentials: znodes are then restricted to their creator (see znodes.ts). */
  readonly owned: boolean;
  /** The servers, for error messages (no password). */
  readonly servers: string;
  readonly logger: Logger;
  /** The negotiated session timeout, ms. */
  sessionTimeout(): number;
  /** How long a key's znode is kept once empty (a tombstone), ms. */
  readonly retention: number;
  /**
   * A session to send requests on: the driver's, or — while the coordinator re-opens an expired one —
   * the next it opens before `deadline` (`performance.now()`).
   * @throws RollcallError `NOT_CONNECTED` once closed, or when no session came before the deadline
   */
  session(action: string, deadline: number): Promise<ZkSession>;
  /** Creates the namespace's znodes if missing (someone removed them); resolves with an rc. */
  ensureNamespace(session: ZkSession): Promise<number>;
}

/** How often a write tries again when other writes keep changing the key under it. */
const MAX_TRIES = 64;

/** Rounds a listing reads keys that changed while it read, at most, before it returns as it is. */
const LIST_ROUNDS = 8;

/** Keys of a store checked at once by `stores()` for one that holds a value. */
const PROBE_BATCH = 32;

const EMPTY = Buffer.alloc(0);

/** A reply code for a request that never reached the server: the operation can start over. */
function unsent(rc: number): boolean {
  return rc === Rc.SESSIONEXPIRED || rc === Rc.INVALIDSTATE || rc === Rc.CLOSING;
}

/** A reply code that says nothing about a read: it can be sent again once connected. */
function readAgain(rc: number): boolean {
  return unsent(rc) || rc === Rc.CONNECTIONLOSS || rc === Rc.OPERATIONTIMEOUT;
}

/** A request of an operation got no answer that counts: the operation starts over (until its deadline). */
class StartOver extends Error {
  constructor(readonly rc: number) {
    super(`rc ${rc}`);
  }
}

/** A listing kept for the watch that core starts from it (see {@link ZooKeeperConfigStore.list}). */
interface Listing {
  tracker: StoreTracker;
  revision: bigint;
  states: Map<string, KeyState>;
  timer: NodeJS.Timeout;
}

/**
 * The ZooKeeper backend's {@link ConfigDriver}: a store is a persistent znode `/<ns>/.config/<store>`, an
 * entry a persistent child znode named after its key (`/` written as `%2F`) whose data is the value as
 * JSON. Entries belong to no session. The version of an entry is the `mzxid` of its znode: ZooKeeper's
 * zxids grow over the whole ensemble, so a key's version grows across every write.
 *
 * **Tombstones.** A delete empties the key's znode instead of deleting it, and a key's first write
 * creates it empty before writing it: a znode without data is an absent key. So every write is one
 * `setData` conditional on the data version of the stat read before it, which (a) returns the stat of
 * what it wrote — the binding's create does not, and a stat read after a create may already show a later
 * write — and (b) cannot land on another incarnation of the key: a deleted and re-created znode starts
 * again at data version 0, where a compare-and-set read before the delete would succeed. A tombstone also
 * carries the delete's zxid, which watches deliver as its revision. The {@link TombstoneSweeper} deletes
 * znodes that have been empty for the retention (`journalRetention`), far longer than any write's gap
 * between its read and its write (a session expires, failing the write, long before).
 *
 * Every operation works while the coordinator's session is being re-opened: it waits for the next one
 * (see {@link ConfigLink.session}). A write that lost its connection before the answer came rejects with
 * `CONNECTION`: it may or may not have been applied.
 */
export class ZooKeeperConfigStore implements ConfigDriver {
  private readonly watches = new Set<ConfigWatch>();
  private readonly listings = new Map<string, Listing>();
  private closed = false;
  /** The tombstone sweeper (exposed for tests). */
  readonly sweeper: TombstoneSweeper;
  /** What every watch of this store did, summed (for tests and diagnostics). */
  readonly watchStats: ConfigWatchStats = { rounds: 0, delivered: 0, restamped: 0 };
  /** Listings that returned without a snapshot: {@link LIST_ROUNDS} rounds did not settle (for tests). */
  readonly stats = { listings: 0, unsettled: 0 };

  constructor(private readonly link: ConfigLink) {
    this.sweeper = new TombstoneSweeper(link.layout, link.retention, link.logger);
  }

  /** How long an operation may wait for a session or a reconnect, ms. */
  private get patience(): number {
    return Math.max(10_000, 3 * this.link.sessionTimeout());
  }

  private entryPath(store: string, key: string): string {
    return this.link.layout.configEntry(store, encodeConfigKey(key));
  }

  private fail(rc: number, action: string, store?: string, key?: string): RollcallError {
    const what = store === undefined ? action : `${action} of configuration ${JSON.stringify(store)}`;
    if (unsent(rc)) {
      // Entries belong to no session: an expired one is no error of theirs, only the lack of a session.
      return noSession("ZooKeeper", `${what} failed, rc ${rc}`, key === undefined ? {} : { key });
    }
    return zkError(rc, { action: what, servers: this.link.servers, ...(key === undefined ? {} : { key }) });
  }

  /**
   * Runs `operation` on a session, again from the start (on the session then current) when a request of
   * it got no answer that counts ({@link StartOver}), until the deadline.
   */
  private async attempt<T>(
    action: string,
    store: string | undefined,
    key: string | undefined,
    operation: (session: ZkSession) => Promise<T>,
  ): Promise<T> {
    const deadline = performance.now() + this.patience;
    for (;;) {
      if (this.closed) throw driverClosed("ZooKeeper", action);
      const session = await this.link.session(action, deadline);
      try {
        return await operation(session);
      } catch (error) {
        if (!(error instanceof StartOver)) throw error;
        if (performance.now() >= deadline) throw this.fail(error.rc, action, store, key);
        await settled(session, deadline);
      }
    }
  }

  /** The value of a read's reply; {@link StartOver} for an answer that does not count. */
  private value<T>(reply: Reply<T>, action: string, store: string, key?: string): T {
    if (reply.ok) return reply.value;
    if (readAgain(reply.rc)) throw new StartOver(reply.rc);
    throw this.fail(reply.rc, action, store, key);
  }

  /** A write failed with `rc`: start over if it never reached the server, else reject. */
  private writeFailed(rc: number, action: string, store: string, key: string): never {
    if (unsent(rc)) throw new StartOver(rc);
    throw this.fail(rc, action, store, key);
  }

  async get(store: string, key: string): Promise<ConfigRecord | undefined> {
    const action = "read an entry";
    return this.attempt(action, store, key, async (session) => {
      const path = this.entryPath(store, key);
      // sync first (pipelined), so that the read sees every write the ensemble committed before it.
      const [synced, got] = await Promise.all([session.sync(path), session.get(path)]);
      if (!synced.ok && readAgain(synced.rc)) throw new StartOver(synced.rc);
      if (got.rc === Rc.NONODE) return undefined;
      const { stat, data } = this.value(got, action, store, key);
      const state = keyState(key, stat, data);
      return state.live ? recordOf(state) : undefined;
    });
  }

  async put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord> {
    const action = "write an entry";
    const data = Buffer.from(JSON.stringify(value), "utf8");
    const written = (stat: ZkStat): ConfigRecord => ({
      key,
      value,
      version: BigInt(stat.mzxid),
      updatedAt: stat.mtime,
    });
    return this.attempt(action, store, key, async (session) => {
      const path = this.entryPath(store, key);
      // Whether what was read is known to be current (read after a sync or a failed conditional write).
      let current = false;
      for (let tries = 0; tries < MAX_TRIES; tries++) {
        if (ifVersion === undefined) {
          const set = await session.set(path, data, -1);
          if (set.ok) return written(set.value);
          if (set.rc !== Rc.NONODE) this.writeFailed(set.rc, action, store, key);
          await this.prepare(session, store, key, path);
          continue;
        }
        const read = await this.stat(session, path, current, action, store, key);
        if (read === undefined && ifVersion === 0n) {
          await this.prepare(session, store, key, path);
          continue;
        }
        const found = read !== undefined && read.dataLength > 0 ? BigInt(read.mzxid) : undefined;
        if (ifVersion === 0n ? found !== undefined : found !== ifVersion) {
          if (current) throw versionMismatch(store, key, ifVersion, found);
          current = true; // read again after a sync before saying so
          continue;
        }
        const stat = read as ZkStat;
        const set = await session.set(path, data, stat.version);
        if (set.ok) {
          this.checkIncarnation(stat, set.value, store, key);
          return written(set.value);
        }
        if (set.rc !== Rc.BADVERSION && set.rc !== Rc.NONODE) this.writeFailed(set.rc, action, store, key);
        // Written (or swept) since the read; this server has applied that write before answering.
        current = true;
      }
      throw new RollcallError(
        "CONNECTION",
        `${action} of configuration ${JSON.stringify(store)} failed: the key kept changing under ${MAX_TRIES} attempts`,
        { key },
      );
    });
  }

  async remove(store: string, key: string, ifVersion?: bigint): Promise<boolean> {
    const action = "delete an entry";
    return this.attempt(action, store, key, async (session) => {
      const path = this.entryPath(store, key);
      let current = false;
      for (let tries = 0; tries < MAX_TRIES; tries++) {
        const read = await this.stat(session, path, current, action, store, key);
        const found = read !== undefined && read.dataLength > 0 ? BigInt(read.mzxid) : undefined;
        if (ifVersion === undefined ? found === undefined : found !== ifVersion) {
          if (!current) {
            current = true;
            continue;
          }
          if (ifVersion !== undefined) throw versionMismatch(store, key, ifVersion, found);
          return false;
        }
        const stat = read as ZkStat;
        const set = await session.set(path, EMPTY, stat.version);
        if (set.ok) {
          this.checkIncarnation(stat, set.value, store, key);
          this.sweeper.sweepSoon(session, store);
          return true;
        }
        if (set.rc !== Rc.BADVERSION && set.rc !== Rc.NONODE) this.writeFailed(set.rc, action, store, key);
        current = true;
      }
      throw new RollcallError(
        "CONNECTION",
        `${action} of configuration ${JSON.stringify(store)} failed: the key kept changing under ${MAX_TRIES} attempts`,
        { key },
      );
    });
  }

  /** The znode's stat (`undefined`: no znode), after a sync when `current`. */
  private async stat(
    session: ZkSession,
    path: string,
    current: boolean,
    action: string,
    store: string,
    key: string,
  ): Promise<ZkStat | undefined> {
    const [synced, read] = await Promise.all([
      current ? session.sync(path) : undefined,
      session.exists(path),
    ]);
    if (synced !== undefined && !synced.ok && readAgain(synced.rc)) throw new StartOver(synced.rc);
    if (read.rc === Rc.NONODE) return undefined;
    return this.value(read, action, store, key);
  }

  /**
   * A conditional write landed on the znode it read (the same czxid) — unless the key was swept and
   * created again in between, which would take longer than any session lives: said loudly if it happens.
   */
  private checkIncarnation(read: ZkStat, written: ZkStat, store: string, key: string): void {
    if (read.czxid !== written.czxid) {
      this.link.logger.warn("a configuration write landed on a re-created znode", { config: store, key });
    }
  }

  /**
   * Creates the key's znode, empty (an absent key), unless it exists — with its store (and the
   * configuration root) when missing. Harmless to repeat: an empty znode is no entry.
   */
  private async prepare(session: ZkSession, store: string, key: string, path: string): Promise<void> {
    const action = "create an entry";
    for (let tries = 0; tries < 3; tries++) {
      const created = await session.create(path, EMPTY, CreateFlag.PERSISTENT);
      if (created.rc === Rc.NODEEXISTS) return;
      if (created.ok) {
        if (!this.link.owned) return;
        const rc = await restrict(session, path);
        if (rc === Rc.OK) return;
        if (readAgain(rc)) throw new StartOver(rc);
        throw this.fail(rc, "restrict the ACL of an entry", store, key);
      }
      if (created.rc !== Rc.NONODE) {
        if (readAgain(created.rc)) throw new StartOver(created.rc);
        throw this.fail(created.rc, action, store, key);
      }
      await this.ensureStore(session, store, key);
    }
    throw this.fail(Rc.NONODE, action, store, key);
  }

  /** Creates the configuration root and the store's znode if missing (and the namespace, if removed). */
  private async ensureStore(session: ZkSession, store: string, key: string): Promise<void> {
    const { layout, owned } = this.link;
    for (const path of [layout.configRoot, layout.configStore(store)]) {
      let rc = await ensureZnode(session, path, owned);
      if (rc === Rc.NONODE) {
        rc = await this.link.ensureNamespace(session);
        if (rc === Rc.OK) rc = await ensureZnode(session, path, owned);
      }
      if (rc === Rc.OK) continue;
      if (readAgain(rc)) throw new StartOver(rc);
      throw this.fail(rc, "create the store", store, key);
    }
  }

  /**
   * Lists the store with watches (a {@link StoreTracker}) — a consistent snapshot. ZooKeeper has no
   * atomic read of many znodes: the keys are read one after the other, and the watches tell which were
   * written after their read. When none of those writes is at or below the largest zxid read, the
   * entries are exactly the store at that zxid, which is the listing's revision ({@link
   * StoreTracker.cut}); otherwise another round reads again, together, the keys written since and those
   * read after them. Under writes so constant that {@link LIST_ROUNDS} rounds find no snapshot, it
   * returns what it read (counted in {@link stats}); the watch core starts from this listing continues
   * with the same tracker, so even then it misses nothing.
   */
  async list(store: string, prefix: string): Promise<ConfigListing> {
    const action = "list the entries";
    return this.attempt(action, store, undefined, async (session) => {
      const synced = session.sync(this.link.layout.configStore(store));
      const tracker = new StoreTracker(session, this.link.layout, store, prefix);
      let cut: number | undefined;
      try {
        for (let round = 1; ; round++) {
          await tracker.round();
          cut = tracker.cut();
          if (cut !== undefined || round >= LIST_ROUNDS) break;
          tracker.refreshAhead();
        }
        const sync = await synced;
        if (!sync.ok && readAgain(sync.rc)) throw new StartOver(sync.rc);
      } catch (error) {
        tracker.close();
        if (error instanceof RoundFailure) {
          if (readAgain(error.rc)) throw new StartOver(error.rc);
          throw this.fail(error.rc, action, store);
        }
        throw error;
      }
      const states = tracker.states();
      this.stats.listings++;
      if (cut === undefined) {
        this.stats.unsettled++;
        this.link.logger.debug("a configuration listing did not settle under writes", { config: store });
      }
      const revision = BigInt(cut ?? maxZxid(states));
      this.keep(tracker, revision, states);
      const entries: ConfigRecord[] = [];
      let empty = false;
      for (const state of states.values()) {
        if (state.live) entries.push(recordOf(state));
        else empty = true;
      }
      if (empty) this.sweeper.sweepSoon(session, store);
      return { entries, revision };
    });
  }

  /** Keeps a listing's tracker (its watches armed) for a watch started from it, for a while. */
  private keep(tracker: StoreTracker, revision: bigint, states: Map<string, KeyState>): void {
    const id = listingId(tracker.store, tracker.prefix);
    this.drop(id);
    if (this.closed) {
      tracker.close();
      return;
    }
    const timer = setTimeout(() => this.drop(id, tracker), Math.max(1000, this.link.sessionTimeout()));
    timer.unref();
    this.listings.set(id, { tracker, revision, states, timer });
  }

  /** Forgets the kept listing `id` (only if its tracker is `tracker`, when given) and closes its tracker. */
  private drop(id: string, tracker?: StoreTracker): void {
    const listing = this.listings.get(id);
    if (!listing || (tracker !== undefined && listing.tracker !== tracker)) return;
    this.listings.delete(id);
    clearTimeout(listing.timer);
    listing.tracker.close();
  }

  async stores(): Promise<string[]> {
    const action = "list the configurations";
    return this.attempt(action, undefined, undefined, async (session) => {
      const root = this.link.layout.configRoot;
      const [synced, listed] = await Promise.all([session.sync(root), session.children(root)]);
      if (!synced.ok && readAgain(synced.rc)) throw new StartOver(synced.rc);
      if (listed.rc === Rc.NONODE) return [];
      if (!listed.ok) {
        if (readAgain(listed.rc)) throw new StartOver(listed.rc);
        throw this.fail(listed.rc, action);
      }
      const names = listed.value.children.filter((name) => {
        try {
          validateConfigName(name);
          return true;
        } catch {
          return false;
        }
      });
      const held = await Promise.all(names.map((name) => this.holdsEntries(session, name)));
      return names.filter((_, i) => held[i]);
    });
  }

  /** Whether the store has a key with a value: its children are probed a batch at a time. */
  private async holdsEntries(session: ZkSession, store: string): Promise<boolean> {
    const action = "list the configurations";
    const path = this.link.layout.configStore(store);
    const listed = await session.children(path);
    if (listed.rc === Rc.NONODE) return false;
    const { children } = this.value(listed, action, store);
    for (let i = 0; i < children.length; i += PROBE_BATCH) {
      const stats = await Promise.all(
        children.slice(i, i + PROBE_BATCH).map((name) => session.exists(`${path}/${name}`)),
      );
      for (const stat of stats) {
        if (stat.rc === Rc.NONODE) continue;
        if (this.value(stat, action, store).dataLength > 0) return true;
      }
    }
    return false;
  }

  async watch(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle> {
    const action = "watch the entries";
    const session = await this.link.session(action, performance.now() + this.patience);
    if (this.closed) throw driverClosed("ZooKeeper", action);
    const id = listingId(store, prefix);
    const kept = this.listings.get(id);
    let tracker: StoreTracker;
    let baseline: Map<string, KeyState> | undefined;
    if (kept && kept.revision <= fromRevision && kept.tracker.on === session && !kept.tracker.isClosed) {
      // Core's listing: go on with its tracker, which knows what changed since.
      this.listings.delete(id);
      clearTimeout(kept.timer);
      tracker = kept.tracker;
      baseline = kept.states;
    } else {
      // Another start: read everything (after a sync); a key is a change when written after fromRevision.
      void session.sync(this.link.layout.configStore(store));
      tracker = new StoreTracker(session, this.link.layout, store, prefix);
    }
    const watch: ConfigWatch = new ConfigWatch(tracker, fromRevision, baseline, listener, {
      logger: this.link.logger,
      onClose: () => this.watches.delete(watch),
      stats: this.watchStats,
    });
    this.watches.add(watch);
    return watch;
  }

  /** The connection came back: a watch may have missed notifications while it was away. */
  reconnected(): void {
    for (const id of [...this.listings.keys()]) this.drop(id);
    for (const watch of [...this.watches]) watch.resync("the connection to ZooKeeper was re-established");
  }

  /** The session ended (expired, or replaced): every watch re-lists once the coordinator has a new one. */
  sessionEnded(): void {
    for (const id of [...this.listings.keys()]) this.drop(id);
    for (const watch of [...this.watches]) watch.resync("the ZooKeeper session ended");
    this.sweeper.reset();
  }

  /** Closes every watch, without telling their listeners. */
  close(): void {
    this.closed = true;
    for (const id of [...this.listings.keys()]) this.drop(id);
    for (const watch of [...this.watches]) void watch.close();
    this.watches.clear();
  }

  /** Watches open (for tests and diagnostics). */
  get watchCount(): number {
    return this.watches.size;
  }
}

function maxZxid(states: Map<string, KeyState>): number {
  let max = 0;
  for (const state of states.values()) if (state.mzxid > max) max = state.mzxid;
  return max;
}

function listingId(store: string, prefix: string): string {
  return `${store}\u0000${prefix}`;
}

function recordOf(state: KeyState): ConfigRecord {
  return { key: state.key, value: state.value ?? null, version: BigInt(state.mzxid), updatedAt: state.mtime };
}

/** Resolves once the session is connected, has ended, or the deadline passed — whichever is first. */
async function settled(session: ZkSession, deadline: number): Promise<void> {
  // A short pause first: a connection loss may not have reached the session's state yet.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const wait = deadline - performance.now();
  if (wait <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    session.whenConnected().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, wait);
    }),
  ]);
  clearTimeout(timer);
}
