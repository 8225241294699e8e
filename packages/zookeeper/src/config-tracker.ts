import type { Json } from "@rollcall/core/driver";
import { decodeConfigKey, type Layout } from "./layout.js";
import { Rc, WatchType, type ZkStat, type ZkWatcher } from "./zk-binding.js";
import type { ZkSession } from "./zk-session.js";
import { forEachPipelined, READ_WINDOW } from "./znodes.js";

/** A configuration key's znode as last read: a value, or nothing (the key is absent). */
export interface KeyState {
  /** The key. */
  key: string;
  /** The znode's mzxid: the entry's version when `live`, the delete's revision otherwise. */
  mzxid: number;
  /** Whether the key has a value (its znode has data). */
  live: boolean;
  /** The value, when `live`. */
  value: Json | undefined;
  /** When the znode was last written. */
  mtime: Date;
}

/** A key's znode as a tracker knows it. */
interface Tracked {
  state: KeyState;
  /**
   * A zxid at or below the point where the key's latest read was served: every write to the key that
   * read did not see is above it (see {@link StoreTracker.bound}).
   */
  armed: number;
}

/** A request of a round failed with `rc` (the tracker is unchanged but for what it had read before). */
export class RoundFailure extends Error {
  constructor(
    readonly rc: number,
    readonly action: string,
  ) {
    super(`${action}: rc ${rc}`);
  }
}

/** Decodes an entry's znode data: the value, or `undefined` when the znode has none (the key is absent). */
export function decodeValue(data: Buffer): Json | undefined {
  if (data.length === 0) return undefined;
  const text = data.toString("utf8");
  try {
    return JSON.parse(text) as Json;
  } catch {
    // Not written by rollcall: the text as it is.
    return text;
  }
}

/** The state of an entry read with `stat` and `data`. */
export function keyState(key: string, stat: ZkStat, data: Buffer): KeyState {
  const value = decodeValue(data);
  return { key, mzxid: stat.mzxid, live: value !== undefined, value, mtime: stat.mtime };
}

/**
 * The keys of one configuration store under a prefix, read with one-shot watches so that it knows which
 * keys changed since it read them: a data watch on every key's znode (set by the read) and a children
 * watch on the store (new keys). A notification marks its key (or the listing) *pending*; a
 * {@link round} reads what is pending again, re-arming its watch.
 *
 * ZooKeeper sends a client the notifications of the writes a server applied before any reply it sends
 * after them, on the same connection, and this client dispatches them in that order. So when a round's
 * replies are in, every write a reply did not show to a watched key has either been notified (its key is
 * pending) or comes after every reply — and the tracker can tell how far its knowledge is complete:
 * {@link bound}. That makes a listing consistent (nothing pending: the entries as they all were at the
 * last reply) and lets a watch deliver changes in commit order across keys.
 */
export class StoreTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly pending = new Set<string>();
  private readonly listeners = new Map<string, ZkWatcher>();
  private childrenPending = true;
  /** Like {@link Tracked.armed}, for the store's children listing. */
  private childrenArmed = 0;
  /** The store's pzxid at its latest listing (0: not listed, or absent). */
  private listedPzxid = 0;
  /** The largest zxid seen in a reply: every later request is served at or above it. */
  private watermark: number;
  private closed = false;
  private readonly storePath: string;
  /** Called when a notification marks something pending (a watch schedules a round). */
  onPending: () => void = () => {};

  constructor(
    private readonly session: ZkSession,
    private readonly layout: Layout,
    readonly store: string,
    readonly prefix: string,
    /** A zxid known to be at or below what the session has seen (the store's revision so far). */
    floor = 0,
  ) {
    this.watermark = floor;
    this.storePath = layout.configStore(store);
  }

  /** The session the tracker reads on. */
  get on(): ZkSession {
    return this.session;
  }

  /** The largest zxid seen: the revision of what the tracker knows. */
  get revision(): number {
    return this.watermark;
  }

  /** Whether nothing is pending: every key is as read, as of the last reply. */
  get settled(): boolean {
    return !this.childrenPending && this.pending.size === 0;
  }

  /** Whether the tracker was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The zxid up to which the tracker knows every write to the store's keys under the prefix: every
   * write it has not read is above it (Infinity when nothing is pending). A pending key's unseen writes
   * come after its latest read was served, which is at or above that read's {@link Tracked.armed}.
   */
  bound(): number {
    let bound = this.childrenPending ? this.childrenArmed : Number.POSITIVE_INFINITY;
    for (const name of this.pending) {
      const armed = this.tracked.get(name)?.armed ?? 0;
      if (armed < bound) bound = armed;
    }
    return bound;
  }

  /**
   * The zxid the tracker's knowledge is a snapshot at, if it is one: every key as read holds at the
   * largest zxid read (a key's mzxid, the store's pzxid at its listing) when no unseen write is at or
   * below it — that is, when it is at most {@link bound}. `undefined` otherwise.
   */
  cut(): number | undefined {
    let cut = this.listedPzxid;
    for (const { state } of this.tracked.values()) if (state.mzxid > cut) cut = state.mzxid;
    return cut <= this.bound() ? cut : undefined;
  }

  /**
   * Marks the keys read above the bound pending, so that the next round reads them again together with
   * the keys written since their read — nearly at once, which makes a {@link cut} likely.
   */
  refreshAhead(): void {
    const bound = this.bound();
    for (const [name, { state }] of this.tracked) if (state.mzxid > bound) this.pending.add(name);
    if (this.listedPzxid > bound) this.childrenPending = true;
  }

  /** Every key's state as last read, by znode name. */
  states(): Map<string, KeyState> {
    return new Map([...this.tracked].map(([name, t]) => [name, t.state]));
  }

  /**
   * Reads what is pending (at first: the store's children and every key under the prefix), re-arming
   * the watches. Resolves with the keys read, by znode name: the new state, or `null` for a znode that is
   * gone. Rejects with a {@link RoundFailure}; what it did not read stays pending.
   */
  async round(): Promise<Map<string, KeyState | null>> {
    const read = new Map<string, KeyState | null>();
    const names = new Set<string>();
    if (this.childrenPending) {
      this.childrenPending = false;
      const listed = await this.listChildren();
      if (this.closed) return read;
      if (listed === undefined) {
        // The store does not exist (yet): an exists watch tells when it is created.
        const exists = await this.session.exists(this.storePath, this.onChildren);
        if (this.closed) return read;
        this.listedPzxid = 0;
        if (exists.ok) {
          this.see(exists.value.pzxid);
          this.childrenPending = true;
        } else if (exists.rc !== Rc.NONODE) {
          this.childrenPending = true;
          throw new RoundFailure(exists.rc, "watch the configuration store");
        }
        this.childrenArmed = this.watermark;
        for (const name of this.tracked.keys()) names.add(name);
      } else {
        for (const name of listed) if (!this.tracked.has(name)) names.add(name);
        for (const name of this.tracked.keys()) if (!listed.has(name)) names.add(name);
      }
    }
    for (const name of this.pending) names.add(name);
    this.pending.clear();
    try {
      await forEachPipelined([...names], READ_WINDOW, async (name) => {
        const state = await this.readKey(name);
        if (state !== undefined) read.set(name, state);
      });
    } catch (error) {
      // What was not read is read again in the next round.
      for (const name of names) if (!read.has(name)) this.pending.add(name);
      throw error;
    }
    return read;
  }

  /** Lists the store's children with a watch; `undefined` when the store does not exist. */
  private async listChildren(): Promise<Set<string> | undefined> {
    const reply = await this.session.children(this.storePath, this.onChildren);
    if (this.closed) return new Set();
    if (reply.rc === Rc.NONODE) return undefined;
    if (!reply.ok) {
      this.childrenPending = true;
      throw new RoundFailure(reply.rc, "list the configuration store");
    }
    this.see(reply.value.stat.pzxid);
    this.listedPzxid = reply.value.stat.pzxid;
    this.childrenArmed = this.watermark;
    const names = new Set<string>();
    for (const name of reply.value.children) {
      const key = decodeConfigKey(name);
      if (key?.startsWith(this.prefix)) names.add(name);
    }
    return names;
  }

  /** Reads one key with a watch: its state, `null` if its znode is gone, `undefined` if closed meanwhile. */
  private async readKey(name: string): Promise<KeyState | null | undefined> {
    const key = decodeConfigKey(name) as string;
    const listener = this.listenerFor(name);
    const reply = await this.session.get(this.layout.configEntry(this.store, name), listener);
    if (this.closed) return undefined;
    if (reply.rc === Rc.NONODE) {
      this.tracked.delete(name);
      this.listeners.delete(name);
      this.pending.delete(name);
      return null;
    }
    if (!reply.ok) throw new RoundFailure(reply.rc, `read the configuration key ${JSON.stringify(key)}`);
    const { stat, data } = reply.value;
    this.see(stat.mzxid);
    const state = keyState(key, stat, data);
    this.tracked.set(name, { state, armed: this.watermark });
    return state;
  }

  private see(zxid: number): void {
    if (zxid > this.watermark) this.watermark = zxid;
  }

  private listenerFor(name: string): ZkWatcher {
    let listener = this.listeners.get(name);
    if (!listener) {
      listener = (type) => {
        if (this.closed || type === WatchType.SESSION) return;
        this.pending.add(name);
        this.onPending();
      };
      this.listeners.set(name, listener);
    }
    return listener;
  }

  private readonly onChildren: ZkWatcher = (type) => {
    if (this.closed || type === WatchType.SESSION) return;
    this.childrenPending = true;
    this.onPending();
  };

  /** Stops tracking: forgets every watch listener (the one-shot watches fire into nothing). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [name, listener] of this.listeners)
      this.session.unwatch("node", this.layout.configEntry(this.store, name), listener);
    this.listeners.clear();
    this.session.unwatch("children", this.storePath, this.onChildren);
    this.session.unwatch("node", this.storePath, this.onChildren);
  }
}
