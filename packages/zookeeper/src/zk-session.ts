import { noSession, openFailure, RollcallError } from "@rollcall/core/driver";
import { probeAddresses } from "./reachability.js";
import { formatAddress, type ServerAddress } from "./server-address.js";
import {
  EXPIRED_SESSION_STATE,
  isConnectionRc,
  loadBinding,
  type NativeWatchEvent,
  type NativeZooKeeper,
  Rc,
  WatchType,
  type ZkAcl,
  type ZkStat,
  type ZkWatcher,
} from "./zk-binding.js";

/** A reply of the C client: `rc` is 0 on success, a ZooKeeper error code otherwise. */
export type Reply<T> = { ok: true; rc: 0; value: T } | { ok: false; rc: number; value?: undefined };

/** The state of one ZooKeeper session as seen through its handle. */
export type ZkSessionState = "connecting" | "connected" | "suspended" | "expired" | "closed";

/** What {@link ZkSession.open} needs. */
export interface ZkSessionOptions {
  /** The ensemble's servers. */
  addresses: readonly ServerAddress[];
  /** Requested session timeout in ms; the server clamps it. */
  sessionTimeout: number;
  /** `user:password` for digest auth, if any. Never logged. */
  digest?: string;
  /** Names the servers in errors (no password). */
  describe: string;
  /** Called with the send time of every request the server answered. */
  onAck(sentAt: number): void;
  /** Aborts connecting. */
  signal: AbortSignal;
}

/** The binding's `state` while connected (ZOO_CONNECTED_STATE). */
const NATIVE_CONNECTED = 3;

/** Which one-shot watch a listener waits on: a znode's existence and data, or its children. */
export type WatchKind = "node" | "children";

/** The default watcher's events, as {@link WatchType}s. */
const NATIVE_WATCH_EVENTS: readonly [NativeWatchEvent, number][] = [
  ["created", WatchType.CREATED],
  ["deleted", WatchType.DELETED],
  ["changed", WatchType.CHANGED],
  ["child", WatchType.CHILD],
  ["notwatching", WatchType.NOTWATCHING],
];

/**
 * The listeners of one-shot watches, by kind and path. Every watch is set for the handle's default
 * watcher, so the binding holds no reference to any listener: a listener lives in these maps until its
 * watch fires, its owner removes it ({@link ZkSession.unwatch}), or the session ends — whichever is first.
 */
class WatchRoutes {
  private readonly routes: Record<WatchKind, Map<string, Set<ZkWatcher>>> = {
    node: new Map(),
    children: new Map(),
  };

  add(kind: WatchKind, path: string, listener: ZkWatcher): void {
    const map = this.routes[kind];
    let set = map.get(path);
    if (!set) {
      set = new Set();
      map.set(path, set);
    }
    set.add(listener);
  }

  remove(kind: WatchKind, path: string, listener: ZkWatcher): void {
    const map = this.routes[kind];
    const set = map.get(path);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) map.delete(path);
  }

  /**
   * A watch fired: every listener of the kinds it concerns is called once and forgotten (the watch is
   * one-shot on the server too). A deletion ends both kinds of watch.
   */
  fire(type: number, path: string): void {
    const kinds: WatchKind[] =
      type === WatchType.CHILD
        ? ["children"]
        : type === WatchType.CREATED || type === WatchType.CHANGED
          ? ["node"]
          : ["node", "children"];
    const due: ZkWatcher[] = [];
    for (const kind of kinds) {
      const set = this.routes[kind].get(path);
      if (!set) continue;
      this.routes[kind].delete(path);
      due.push(...set);
    }
    for (const listener of due) listener(type);
  }

  /** Every listener, once, with `type` (the watches are gone), and forgets them all. */
  fireAll(type: number): void {
    const due: ZkWatcher[] = [];
    for (const map of Object.values(this.routes)) {
      for (const set of map.values()) due.push(...set);
      map.clear();
    }
    for (const listener of due) listener(type);
  }

  clear(): void {
    for (const map of Object.values(this.routes)) map.clear();
  }

  /** How many listeners are waiting (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const map of Object.values(this.routes)) for (const set of map.values()) n += set.size;
    return n;
  }
}

/**
 * One ZooKeeper session: the binding's handle, its connection state, and promise-returning requests.
 *
 * The binding's `close` event does not say why the handle closed, so our own {@link close} is told
 * apart from an expiry by our state (`closed` is set before the native close).
 *
 * A watchdog reads the handle's native state every few hundred ms and trusts it over the events:
 * the binding delivers `connecting` only when it next drives the C client, which a handle that lost
 * its socket may not do for a long while. Until the first connect, it also replaces a handle that
 * gave up or never got going: the binding returns before starting the timer that drives the C client
 * when its first attempt is refused at once (a server down on the same host), and a new session can
 * be refused while the ensemble elects a leader.
 */
export class ZkSession {
  private current: ZkSessionState = "connecting";
  private handle: NativeZooKeeper;
  private readonly listeners = new Set<(state: ZkSessionState) => void>();
  private readonly watchdog: NodeJS.Timeout;
  /** When the latest request that got an answer was sent (`performance.now()`). */
  private lastAckSentAt = performance.now();
  private probing = false;
  private generation = 0;
  private nextProbeAt = 0;
  private disconnectedSince: number | undefined;
  private handleFailed = false;
  private authReply: Promise<Reply<void>> = Promise.resolve({ ok: true, rc: Rc.OK, value: undefined });
  private readonly watches = new WatchRoutes();
  /** Requests sent, by kind: what a test or a diagnosis can count (cheap: one increment per request). */
  readonly sent = { create: 0, exists: 0, get: 0, children: 0, set: 0, delete: 0, sync: 0, setAcl: 0 };

  private constructor(private readonly options: ZkSessionOptions) {
    this.handle = this.createHandle();
    const tick = Math.max(50, Math.min(250, Math.floor(options.sessionTimeout / 10)));
    // Not unref'd: an open session keeps the process alive, as the binding's own handles do (and a
    // handle that never got going has none).
    this.watchdog = setInterval(() => this.check(), tick);
  }

  /**
   * Opens a session and resolves once it is connected (and authenticated, with `digest`).
   * @throws RollcallError `CONNECTION` when the signal aborts first or the credentials are refused
   */
  static async open(given: ZkSessionOptions): Promise<ZkSession> {
    // The digest holds a password: non-enumerable, so `util.inspect()` and JSON of a session never show it.
    const { digest, ...rest } = given;
    const options: ZkSessionOptions = rest;
    if (digest !== undefined) Object.defineProperty(options, "digest", { value: digest, enumerable: false });
    let session: ZkSession | undefined;
    try {
      session = new ZkSession(options);
      const opening = session;
      await new Promise<void>((resolve, reject) => {
        const onState = (state: ZkSessionState) => {
          if (state === "connected") finish();
          else if (state === "expired" || state === "closed")
            finish(new Error("the session closed while connecting"));
        };
        const onAbort = () => finish(options.signal.reason ?? new Error("aborted"));
        const finish = (error?: unknown) => {
          opening.listeners.delete(onState);
          options.signal.removeEventListener("abort", onAbort);
          if (error === undefined) resolve();
          else reject(error);
        };
        opening.listeners.add(onState);
        if (options.signal.aborted) onAbort();
        else options.signal.addEventListener("abort", onAbort, { once: true });
      });
      const auth = await session.authReply;
      if (!auth.ok) {
        throw openFailure(
          "refused",
          `ZooKeeper at ${options.describe} refused the credentials (rc ${auth.rc})`,
        );
      }
      return session;
    } catch (error) {
      session?.close();
      if (RollcallError.isInstance(error)) throw error;
      throw new RollcallError(
        "CONNECTION",
        `could not open a ZooKeeper session with ${options.describe}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * A new handle. The C client tries servers in the order given (the setting is process-wide, so every
   * handle gets an order of its own: shuffled, or — to re-attach — `addresses` as ordered); `session`
   * re-attaches to an existing session instead of creating one.
   */
  private createHandle(
    addresses: readonly ServerAddress[] = shuffled(this.options.addresses),
    session?: { id: string; password: string },
  ): NativeZooKeeper {
    const Native = loadBinding();
    const handle = new Native({
      connect: addresses.map(formatAddress).join(","),
      timeout: this.options.sessionTimeout,
      // The C client logs to stdout/stderr unless told not to.
      debug_level: 0,
      host_order_deterministic: true,
      ...(session ? { client_id: session.id, client_password: session.password } : {}),
      // The binding closes the session after this many partial reads of one reply (default 10),
      // which a large children listing (tens of thousands of members) needs.
      response_counter_limit: 100_000,
    });
    handle.on("connect", () => {
      if (handle === this.handle) this.onNative("connect");
    });
    handle.on("connecting", () => {
      if (handle === this.handle) this.onNative("connecting");
    });
    handle.on("close", () => {
      if (handle === this.handle) this.onNative("expired");
    });
    for (const [event, type] of NATIVE_WATCH_EVENTS) {
      handle.on(event, (_self, path) => {
        if (handle === this.handle) this.watches.fire(type, path);
      });
    }
    handle.init({});
    const digest = this.options.digest;
    if (digest !== undefined) {
      this.authReply = new Promise((resolve) => {
        const ret = handle.add_auth("digest", digest, (rc) =>
          resolve(rc === Rc.OK ? { ok: true, rc: Rc.OK, value: undefined } : { ok: false, rc }),
        );
        if (ret !== Rc.OK) resolve({ ok: false, rc: ret });
      });
    }
    return handle;
  }

  /** The watchdog: trusts the handle's native state over its (possibly stuck) events. */
  private check(): void {
    if (this.current === "closed" || this.current === "expired") return;
    if (this.handleFailed) {
      this.handleFailed = false;
      this.replaceHandle();
      return;
    }
    const native = this.handle.state;
    if (native === NATIVE_CONNECTED) {
      this.disconnectedSince = undefined;
      if (this.current !== "connected") this.onNative("connect");
      return;
    }
    if (native === EXPIRED_SESSION_STATE) {
      this.onNative("expired");
      return;
    }
    if (this.current === "connected") this.onNative("connecting");
    if (this.current === "suspended") {
      this.whileSuspended();
      return;
    }
    if (this.current !== "connecting") return;
    const now = performance.now();
    this.disconnectedSince ??= now;
    if (now - this.disconnectedSince >= Math.max(500, this.options.sessionTimeout / 2)) {
      this.disconnectedSince = now;
      this.replaceHandle();
    }
  }

  /**
   * Two things the C client cannot do by itself, checked every third of the timeout while suspended by
   * asking every server for a TCP connection:
   *
   * - It waits ⅔ of the session timeout on a connection attempt to a server that does not answer, and
   *   comes back to it on every round of its server list: with the ensemble's leader cut off, a client
   *   can spend longer than its timeout on that one server and lose a session the new quorum was
   *   keeping for it. When some servers accept connections and some do not answer at all, the session
   *   is re-attached (same session id and password) on a new handle that tries the answering servers
   *   first; watches are re-armed by the driver ({@link handleGeneration}).
   * - ZooKeeper tells a client its session expired only when it reconnects; cut off from every server,
   *   it would stay `suspended` for as long as the partition lasts. Once nothing it sent in the timeout
   *   plus a third has been answered (the C client's own pings, which we cannot see, may have reached
   *   the server a little later than our last answered request: hence the third) and no server answers
   *   at all (no accept, no refusal — a refused connection means a server that may come back with the
   *   sessions it persisted), the ensemble has expired the session: it is declared expired here,
   *   without the server's help, and the handle is closed; core then re-opens and re-joins.
   */
  private whileSuspended(): void {
    if (this.probing) return;
    const timeout = this.handle.timeout > 0 ? this.handle.timeout : this.options.sessionTimeout;
    const now = performance.now();
    if (now - this.lastAckSentAt < timeout / 3 || now < this.nextProbeAt) return;
    this.probing = true;
    const addresses = this.options.addresses;
    void probeAddresses(addresses, Math.max(200, timeout / 4)).then((answers) => {
      this.probing = false;
      this.nextProbeAt = performance.now() + timeout / 3;
      if (this.current !== "suspended" || this.handle.state === NATIVE_CONNECTED) return;
      const silent = performance.now() - this.lastAckSentAt;
      if (answers.every((answer) => answer === "silent")) {
        if (silent < timeout * (4 / 3)) return;
        this.onNative("expired");
        this.handle.removeAllListeners();
        this.handle.close();
        return;
      }
      if (!answers.includes("silent") || !answers.includes("accepted")) return;
      const first = addresses.filter((_, i) => answers[i] === "accepted");
      const rest = addresses.filter((_, i) => answers[i] !== "accepted");
      this.reattach([...shuffled(first), ...rest]);
    });
  }

  /** Moves the session to a new handle that tries `addresses` in this order. */
  private reattach(addresses: readonly ServerAddress[]): void {
    const old = this.handle;
    const session = { id: old.client_id, password: old.client_password };
    old.removeAllListeners();
    this.handle = this.createHandle(addresses, session);
    this.generation++;
    // Not connected, so closing sends no close-session request: the session lives on.
    old.close();
    // The watches were set on the old handle: their listeners look again (on the new one).
    this.watches.fireAll(WatchType.NOTWATCHING);
  }

  /** Bumped whenever the session moves to a new handle: watches set on the old one are gone. */
  get handleGeneration(): number {
    return this.generation;
  }

  /** Before the first connect only: there is no session yet, so nothing is lost. */
  private replaceHandle(): void {
    const old = this.handle;
    old.removeAllListeners();
    old.close();
    this.handle = this.createHandle();
  }

  /** The connection state. */
  get state(): ZkSessionState {
    return this.current;
  }

  /**
   * The session's id as ZooKeeper writes it in an ephemeral znode's `ephemeralOwner` (hex); the same
   * across handles that re-attach to the session.
   */
  get sessionId(): string {
    return this.handle.client_id;
  }

  /** The session timeout the server granted, in ms. */
  get negotiatedTimeout(): number {
    return this.handle.timeout;
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onState(listener: (state: ZkSessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when connected; rejects once the session is expired or closed. */
  whenConnected(): Promise<void> {
    if (this.current === "connected") return Promise.resolve();
    if (this.current === "expired" || this.current === "closed") {
      return Promise.reject(noSession("ZooKeeper", `the session is ${this.current}`));
    }
    return new Promise((resolve, reject) => {
      const off = this.onState((state) => {
        if (state === "connected") {
          off();
          resolve();
        } else if (state === "expired" || state === "closed") {
          off();
          reject(noSession("ZooKeeper", `the session is ${state}`));
        }
      });
    });
  }

  private onNative(event: "connect" | "connecting" | "expired"): void {
    if (this.current === "closed" || this.current === "expired") return;
    let next: ZkSessionState;
    if (event === "connect") {
      next = "connected";
    } else if (event === "connecting") {
      // Reconnection attempts before the first connect are part of connecting.
      if (this.current === "connecting") return;
      next = "suspended";
    } else if (this.current === "connecting") {
      // A new session refused before it was ever connected (e.g. created on a follower while the
      // ensemble was electing a leader): try again with a new handle at the next watchdog tick.
      this.handleFailed = true;
      return;
    } else next = "expired";
    if (next === this.current) return;
    if (next === "expired") {
      clearInterval(this.watchdog);
      this.watches.clear();
    }
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  /**
   * Closes the handle (the server then deletes the session's ephemeral znodes). Synchronous in the C
   * client: when the server is frozen it waits a bounded time for the close reply. Idempotent.
   */
  close(): void {
    if (this.current === "closed") return;
    const wasOpen = this.current !== "expired";
    this.current = "closed";
    clearInterval(this.watchdog);
    this.watches.clear();
    for (const listener of [...this.listeners]) listener("closed");
    this.listeners.clear();
    if (wasOpen) this.handle.close();
    this.handle.removeAllListeners();
  }

  /** Forgets a watch listener (its watch, if set, fires into nothing). Idempotent. */
  unwatch(kind: WatchKind, path: string, listener: ZkWatcher): void {
    this.watches.remove(kind, path, listener);
  }

  /** Watch listeners waiting (for tests and diagnostics). */
  get watchListeners(): number {
    return this.watches.size;
  }

  /**
   * Sends one request. Requests go to the binding's native object (`handle.native`), not through its
   * JavaScript class, whose per-call logging cost 10–20 % of the client's CPU per read (see `NativeRequests`
   * in zk-binding.ts).
   */
  private call<T>(issue: (cb: (rc: number, value?: T) => void) => number): Promise<Reply<T>> {
    if (this.current === "closed" || this.current === "expired")
      return Promise.resolve({ ok: false, rc: Rc.INVALIDSTATE });
    const sentAt = performance.now();
    return new Promise((resolve) => {
      const ret = issue((rc, value) => {
        if (!isConnectionRc(rc)) {
          if (sentAt > this.lastAckSentAt) this.lastAckSentAt = sentAt;
          this.options.onAck(sentAt);
        }
        resolve(rc === Rc.OK ? { ok: true, rc: Rc.OK, value: value as T } : { ok: false, rc });
      });
      // A non-zero synchronous return means the request was never queued: no callback will come.
      if (ret !== Rc.OK) resolve({ ok: false, rc: ret });
    });
  }

  /** Creates a znode; resolves with the created path (with the sequence suffix, if any). */
  create(path: string, data: Buffer, flags: number): Promise<Reply<string>> {
    this.sent.create++;
    return this.call((cb) =>
      this.handle.native.a_create(path, data, flags, (rc, _e, created) => cb(rc, created)),
    );
  }

  /**
   * Creates a TTL znode (`flags` a `*_WITH_TTL` create flag): the server deletes it once it has gone
   * unmodified for `ttl` ms. `UNIMPLEMENTED` when the server does not allow TTL nodes.
   */
  createTtl(path: string, data: Buffer, flags: number, ttl: number): Promise<Reply<string>> {
    this.sent.create++;
    return this.call((cb) =>
      this.handle.native.a_create_ttl(path, data, flags, ttl, (rc, _e, created) => cb(rc, created)),
    );
  }

  /**
   * Issues a request that sets a one-shot watch for `listener` (kept in {@link watches} until the watch
   * fires, {@link unwatch}, or the session ends). When the reply says no watch was set (`keeps` false),
   * the listener is forgotten at once.
   */
  private watched<T>(
    kind: WatchKind,
    path: string,
    listener: ZkWatcher,
    request: Promise<Reply<T>>,
    keeps: (rc: number) => boolean,
  ): Promise<Reply<T>> {
    return request.then((reply) => {
      if (!keeps(reply.rc)) this.watches.remove(kind, path, listener);
      return reply;
    });
  }

  /**
   * The znode's stat (`NONODE` if absent); with `watcher`, also a one-shot watch on its creation,
   * deletion or data change. The watcher stays registered until it fires or {@link unwatch} is called.
   */
  exists(path: string, watcher?: ZkWatcher): Promise<Reply<ZkStat>> {
    this.sent.exists++;
    if (watcher) this.watches.add("node", path, watcher);
    const request = this.call<ZkStat>((cb) =>
      this.handle.native.a_exists(path, watcher !== undefined, (rc, _e, stat) => cb(rc, stat ?? undefined)),
    );
    // An exists watch is set when the znode exists and when it does not (then it fires on creation).
    return watcher
      ? this.watched("node", path, watcher, request, (rc) => rc === Rc.OK || rc === Rc.NONODE)
      : request;
  }

  /**
   * The znode's data and stat; with `watcher`, also a one-shot watch on its data change or deletion (set
   * only when the znode exists). The watcher stays registered until it fires or {@link unwatch} is called.
   */
  get(path: string, watcher?: ZkWatcher): Promise<Reply<{ stat: ZkStat; data: Buffer }>> {
    this.sent.get++;
    if (watcher) this.watches.add("node", path, watcher);
    const request = this.call<{ stat: ZkStat; data: Buffer }>((cb) =>
      this.handle.native.a_get(path, watcher !== undefined, (rc, _e, stat, data) =>
        cb(rc, stat ? { stat, data: data ?? Buffer.alloc(0) } : undefined),
      ),
    );
    return watcher ? this.watched("node", path, watcher, request, (rc) => rc === Rc.OK) : request;
  }

  /**
   * The znode's children and its stat; with `watcher`, also a one-shot children watch (it also fires
   * when the znode is deleted). The watcher stays registered until it fires or {@link unwatch} is called.
   */
  children(path: string, watcher?: ZkWatcher): Promise<Reply<{ children: string[]; stat: ZkStat }>> {
    this.sent.children++;
    if (watcher) this.watches.add("children", path, watcher);
    const request = this.call<{ children: string[]; stat: ZkStat }>((cb) =>
      this.handle.native.a_get_children2(path, watcher !== undefined, (rc, _e, children, stat) =>
        cb(rc, rc === Rc.OK ? { children, stat } : undefined),
      ),
    );
    return watcher ? this.watched("children", path, watcher, request, (rc) => rc === Rc.OK) : request;
  }

  /**
   * Brings the connected server up to date with the leader: reads sent after it on this session see
   * every write the ensemble committed before it (ZooKeeper reads are otherwise served from a
   * follower that may lag). Pipelined: there is no need to wait for it before sending the reads.
   */
  sync(path: string): Promise<Reply<void>> {
    this.sent.sync++;
    return this.call((cb) => this.handle.native.a_sync(path, (rc) => cb(rc)));
  }

  /** Replaces the znode's data (`version` -1 for any). */
  set(path: string, data: Buffer, version: number): Promise<Reply<ZkStat>> {
    this.sent.set++;
    return this.call((cb) =>
      this.handle.native.a_set(path, data, version, (rc, _e, stat) => cb(rc, stat ?? undefined)),
    );
  }

  /** Deletes the znode (`version` -1 for any). */
  delete(path: string, version = -1): Promise<Reply<void>> {
    this.sent.delete++;
    return this.call((cb) => this.handle.native.a_delete_(path, version, (rc) => cb(rc)));
  }

  /** Replaces the znode's ACL (`version` is the ACL version, -1 for any). */
  setAcl(path: string, version: number, acl: ZkAcl[]): Promise<Reply<void>> {
    this.sent.setAcl++;
    return this.call((cb) => this.handle.a_set_acl(path, version, acl, (rc) => cb(rc)));
  }
}

/** A short description of an error. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A copy of `items` in random order. */
export function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
