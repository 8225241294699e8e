import {
  type Characteristics,
  type ConfigDriver,
  type Driver,
  type DriverConfig,
  type DriverEvent,
  driverClosed,
  type GroupSnapshot,
  type Member,
  type Metadata,
  RollcallError,
  type SessionListener,
  sessionExpired,
  type WatchHandle,
  type WatchListener,
} from "@rollcall/core/driver";
import { MemoryConfigDriver } from "./memory-config-driver.js";
import { type MemoryStore, memoryStore } from "./memory-store.js";

const characteristics: Characteristics = {
  scope: "process",
  liveness: "session",
  watch: "push",
  leaveReason: true,
  consistency: "linearizable",
  config: "volatile",
};

const drivers = new Set<MemoryDriver>();

/** The live memory drivers of a member id (for {@link memorySessions}). */
export function driversOf(memberId: string): MemoryDriver[] {
  return [...drivers].filter((d) => d.memberId === memberId);
}

/**
 * `memory://[name]` — an in-process backend that implements the driver honestly: sessions with
 * deadlines renewed by a heartbeat and expired by the store's reaper, push watches from an ordered
 * event log, `seq` from a revision counter. Several coordinators of one process share a store by name.
 * Test hooks can freeze, disconnect or expire a session (see {@link memorySessions}).
 */
export class MemoryDriver implements Driver {
  readonly characteristics = characteristics;
  readonly memberId: string;
  private readonly store: MemoryStore;
  private readonly namespace: string;
  private sessionId: number | undefined;
  private listener: SessionListener | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private frozen: { thawed: Promise<void>; thaw: () => void } | undefined;
  /** Set while cut off by {@link disconnect}; resolved by {@link reconnect}. */
  private disconnected: { reconnected: Promise<void>; reconnect: () => void } | undefined;
  private closed = false;
  private readonly watches = new Set<() => void>();
  /** The configuration stores of the same `memory://name`, behind this driver's fault hooks. */
  readonly configStore: ConfigDriver;

  constructor(private readonly config: DriverConfig) {
    this.memberId = config.memberId;
    this.store = memoryStore(config.url.hosts[0]?.host ?? "default");
    this.namespace = config.namespace;
    this.configStore = new MemoryConfigDriver({
      stores: this.store.config,
      namespace: this.namespace,
      request: () => this.request(),
      reachable: () => this.reachable(),
      track: (stop) => {
        this.watches.add(stop);
        return () => this.watches.delete(stop);
      },
    });
  }

  get sessionTimeout(): number {
    return this.config.sessionTimeout;
  }

  async open(listener: SessionListener): Promise<void> {
    await this.gate();
    if (this.closed) throw driverClosed("memory");
    this.listener = listener;
    const id = this.store.openSession(this.config.sessionTimeout, () => {
      if (this.sessionId === id) void this.reportExpired(id);
    });
    this.sessionId = id;
    drivers.add(this);
    this.startHeartbeat();
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(
      () => {
        if (this.frozen || this.disconnected || this.sessionId === undefined) return;
        const sentAt = performance.now();
        if (this.store.touch(this.sessionId)) this.listener?.renewed(sentAt);
      },
      Math.max(10, Math.floor(this.config.sessionTimeout / 3)),
    );
    // Not unref'd: like a real backend's socket, an open session keeps the process alive until close().
  }

  /**
   * Reports the expiry of session `id` once the client can hear of it: not while frozen, and — like a
   * ZooKeeper client — not while disconnected, but at the reconnect.
   */
  private async reportExpired(id: number): Promise<void> {
    await this.reachable();
    if (this.closed || this.sessionId !== id) return;
    this.sessionId = undefined;
    clearInterval(this.heartbeat);
    this.listener?.state("expired");
  }

  /** Waits while the session is frozen, as a stopped process would. */
  private async gate(): Promise<void> {
    while (this.frozen) await this.frozen.thawed;
  }

  /**
   * Waits while nothing from the "server" can reach the client: frozen, or disconnected (what the
   * server sends meanwhile arrives at the reconnect, as it would over a connection that resumes).
   */
  private async reachable(): Promise<void> {
    for (;;) {
      if (this.frozen) await this.frozen.thawed;
      else if (this.disconnected) await this.disconnected.reconnected;
      else return;
    }
  }

  /** Waits while frozen; fails once closed or while disconnected: a request that cannot reach the server. */
  private async request(): Promise<void> {
    await this.gate();
    if (this.closed) throw driverClosed("memory");
    if (this.disconnected)
      throw new RollcallError("CONNECTION", `memory://${this.store.name} is disconnected (test hook)`);
  }

  private async session(): Promise<number> {
    await this.request();
    if (this.sessionId === undefined || !this.store.isAlive(this.sessionId)) {
      throw sessionExpired("memory");
    }
    return this.sessionId;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const stop of this.watches) stop();
    this.watches.clear();
    if (this.sessionId !== undefined) this.store.endSession(this.sessionId, "left");
    this.sessionId = undefined;
    this.frozen?.thaw();
    this.frozen = undefined;
    this.disconnected?.reconnect();
    this.disconnected = undefined;
    drivers.delete(this);
  }

  async createGroup(group: string): Promise<void> {
    await this.session();
    this.store.createGroup(this.namespace, group);
  }

  async deleteGroup(group: string): Promise<void> {
    await this.session();
    this.store.deleteGroup(this.namespace, group);
  }

  async listGroups(): Promise<string[]> {
    await this.session();
    return this.store.listGroups(this.namespace);
  }

  async join(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const session = await this.session();
    return this.store.join(this.namespace, group, memberId, metadata, session);
  }

  async leave(group: string, memberId: string): Promise<void> {
    const session = await this.session();
    this.store.leave(this.namespace, group, memberId, session);
  }

  async update(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const session = await this.session();
    return this.store.update(this.namespace, group, memberId, metadata, session);
  }

  async members(group: string): Promise<GroupSnapshot> {
    await this.session();
    return this.store.members(this.namespace, group);
  }

  async watch(group: string, fromRevision: bigint, listener: WatchListener): Promise<WatchHandle> {
    await this.session();
    const pending: DriverEvent[] = [];
    let flushing = false;
    // Events reach the client asynchronously and not while it is frozen or disconnected, as they would
    // over a network.
    const deliver = (event: DriverEvent) => {
      pending.push(event);
      if (flushing) return;
      flushing = true;
      void (async () => {
        await Promise.resolve();
        await this.reachable();
        flushing = false;
        for (const e of pending.splice(0)) listener.event(e);
      })();
    };
    const unsubscribe = this.store.subscribe(this.namespace, group, fromRevision, deliver);
    if (!unsubscribe) {
      queueMicrotask(() => listener.resync("the event log no longer reaches back to the requested revision"));
      return { close: async () => {} };
    }
    this.watches.add(unsubscribe);
    return {
      close: async () => {
        unsubscribe();
        this.watches.delete(unsubscribe);
      },
    };
  }

  async awaitGone(group: string, memberId: string, signal: AbortSignal, seq?: bigint): Promise<void> {
    await this.session();
    if (!this.store.hasMember(this.namespace, group, memberId, seq)) return;
    await new Promise<void>((resolve, reject) => {
      const unsubscribe = this.store.subscribe(
        this.namespace,
        group,
        BigInt(Number.MAX_SAFE_INTEGER),
        (event) => {
          if (event.type === "leave" && event.memberId === memberId) finish(undefined);
          else if (
            event.type === "join" &&
            event.member.id === memberId &&
            seq !== undefined &&
            event.member.seq !== seq
          )
            finish(undefined);
        },
      );
      const onAbort = () => finish(signal.reason);
      const finish = (error: unknown) => {
        unsubscribe?.();
        signal.removeEventListener("abort", onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    await this.reachable();
  }

  // ---- test hooks -------------------------------------------------------------------------------

  /** Expires the session on the "server" now. */
  expire(): void {
    if (this.sessionId !== undefined) this.store.endSession(this.sessionId, "expired");
  }

  /** Like SIGSTOP: no heartbeats, no events, every operation waits until {@link thaw}. */
  freeze(): void {
    if (this.frozen) return;
    let thaw!: () => void;
    const thawed = new Promise<void>((resolve) => {
      thaw = resolve;
    });
    this.frozen = { thawed, thaw };
  }

  /** Like SIGCONT. */
  thaw(): void {
    const frozen = this.frozen;
    this.frozen = undefined;
    frozen?.thaw();
  }

  /**
   * The server becomes unreachable: the session is reported `suspended` at once, heartbeats are no longer
   * acknowledged (so no renewal is reported), operations fail with `CONNECTION`, and nothing the server
   * sends — watch events, the session's expiry — reaches the client until {@link reconnect}.
   */
  disconnect(): void {
    if (this.disconnected) return;
    let reconnect!: () => void;
    const reconnected = new Promise<void>((resolve) => {
      reconnect = resolve;
    });
    this.disconnected = { reconnected, reconnect };
    this.listener?.state("suspended");
  }

  /**
   * The server is reachable again: if the session survived, a heartbeat renews it and it is `connected`
   * again, and what the server sent meanwhile is delivered; else it is reported `expired`.
   */
  reconnect(): void {
    const disconnected = this.disconnected;
    if (!disconnected) return;
    this.disconnected = undefined;
    disconnected.reconnect();
    const id = this.sessionId;
    if (id === undefined) return;
    if (!this.store.isAlive(id)) {
      void this.reportExpired(id);
      return;
    }
    const sentAt = performance.now();
    if (!this.frozen && this.store.touch(id)) this.listener?.renewed(sentAt);
    this.listener?.state("connected");
  }
}
