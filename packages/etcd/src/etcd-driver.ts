import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import {
  backoff,
  type Characteristics,
  type ConfigDriver,
  type Driver,
  type DriverConfig,
  type DriverEvent,
  driverClosed,
  type GroupSnapshot,
  groupExists,
  groupNotEmpty,
  groupNotFound,
  type Logger,
  type Member,
  type Metadata,
  memberExists,
  memberNotJoined,
  noSession,
  openFailure,
  RollcallError,
  raceAbort,
  type SessionListener,
  sessionExpired,
  type WatchHandle,
  type WatchListener,
} from "@rollcall/core/driver";
import {
  type Etcd3,
  EtcdLeaseInvalidError,
  type ICompare,
  type IEvent,
  type IKeyValue,
  type IRequestOp,
  type ITxnResponse,
} from "etcd3";
import { isTransient, toRollcallError } from "./errors.js";
import { closeEtcdClient, createEtcdClient } from "./etcd-client.js";
import { EtcdConfigStore } from "./etcd-config.js";
import { type EtcdOptions, readEtcdOptions } from "./etcd-options.js";
import { KeyLayout } from "./keys.js";
import { LeaseSession, revokeLease } from "./lease-session.js";
import { decodeMember, encodeMember, rangeCount, rangeKvs } from "./member-record.js";
import { RangeWatch, type RangeWatchListener } from "./range-watch.js";

/** What every etcd coordinator is. */
export const ETCD_CHARACTERISTICS: Characteristics = Object.freeze({
  scope: "cluster",
  liveness: "ttl",
  watch: "push",
  leaveReason: true,
  consistency: "linearizable",
  config: "durable",
});

/** Bound on each request made while closing, so `close()` cannot hang on a dead cluster. */
const CLOSE_REQUEST_TIMEOUT = 2000;

/**
 * The etcd driver: one lease per session, kept alive by the driver; a member is a key attached to
 * it; `seq` is the key's `create_revision`; watches resume from the last revision they delivered.
 * Created by core for `etcd://` and `etcds://` URLs (see the package README for the URL grammar).
 */
export class EtcdDriver implements Driver {
  readonly characteristics: Characteristics = ETCD_CHARACTERISTICS;
  private readonly options: EtcdOptions;
  private readonly keys: KeyLayout;
  private readonly logger: Logger;
  /** Per-request deadline of unary calls (a txn may wait out an etcd leader election). */
  private readonly callTimeout: number;
  private clientPromise: Promise<Etcd3> | undefined;
  private client: Etcd3 | undefined;
  /** One client per cluster member for keep-alive streams, when the URL names several. */
  private keepAliveClients: Etcd3[] | undefined;
  private session: LeaseSession | undefined;
  private grantedTtlMs: number;
  /** Leases of sessions declared expired locally that etcd may still hold; revoked on the next open. */
  private readonly staleLeases = new Set<string>();
  private readonly watches = new Set<RangeWatch>();
  private closing: Promise<void> | undefined;
  /** The configuration store: keys without a lease under `ns/@config/`, usable with or without a session. */
  readonly configStore: ConfigDriver;

  constructor(private readonly config: DriverConfig) {
    this.options = readEtcdOptions(config);
    this.keys = new KeyLayout(config.namespace);
    this.logger = config.logger;
    this.grantedTtlMs = this.options.ttlSeconds * 1000;
    this.callTimeout = Math.max(5000, this.grantedTtlMs);
    this.configStore = new EtcdConfigStore({
      keys: this.keys,
      withRetry: async (op) => {
        if (this.closing !== undefined) throw driverClosed("etcd");
        return this.withRetry(op);
      },
      txn: (client, request) => this.txn(client, request),
      watchRange: (range, startRevision, listener) => this.watchRange(range, startRevision, listener),
    });
  }

  /** The TTL etcd granted the current lease, in ms (whole seconds; etcd may raise it to its minimum). */
  get sessionTimeout(): number {
    return this.grantedTtlMs;
  }

  async open(listener: SessionListener, signal: AbortSignal): Promise<void> {
    if (this.closing !== undefined) throw driverClosed("etcd");
    const client = await this.ensureClient();
    await this.revokeStaleLeases(client);
    const sentAt = performance.now();
    let granted: { ID: string; TTL: string };
    try {
      granted = await raceAbort(client.leaseClient.leaseGrant({ TTL: this.options.ttlSeconds }), signal);
    } catch (error) {
      if (RollcallError.isInstance(error)) throw error;
      // Unreachable, a deadline, a host its pool has given up on for now: worth another attempt. Any
      // other answer (refused credentials, permissions) will not change by retrying.
      const transient = signal.aborted || isTransient(error);
      throw openFailure(transient ? "unreachable" : "refused", this.wrap(error).message, error);
    }
    if (this.closing !== undefined) {
      await revokeLease(client, granted.ID, CLOSE_REQUEST_TIMEOUT).catch(() => undefined);
      throw driverClosed("etcd", "open a session");
    }
    this.startSession(client, granted.ID, Number(granted.TTL) * 1000, sentAt, listener);
  }

  private startSession(
    client: Etcd3,
    leaseId: string,
    ttlMs: number,
    sentAt: number,
    listener: SessionListener,
  ): void {
    if (ttlMs !== this.options.ttlSeconds * 1000) {
      this.logger.warn("etcd granted a different lease TTL than sessionTimeout asked for", {
        requested: this.options.ttlSeconds * 1000,
        granted: ttlMs,
      });
    }
    this.grantedTtlMs = ttlMs;
    const previous = this.session;
    if (previous?.active) {
      // Not expected (core re-opens only after `expired`), but never leave a lease running unowned.
      previous.close();
      this.staleLeases.add(previous.leaseId);
    }
    const session: LeaseSession = new LeaseSession(
      client,
      this.keepAliveClients ?? [client],
      { leaseId, ttlMs, graceMs: 3 * this.options.electionTimeout },
      {
        state: (state) => {
          if (state === "expired" && session.maybeAlive) this.staleLeases.add(leaseId);
          listener.state(state);
        },
        renewed: (at) => listener.renewed(at),
      },
      () => {
        for (const watch of this.watches) watch.recycle();
      },
      this.logger,
    );
    this.session = session;
    this.logger.debug("etcd session opened", { leaseId, ttlMs });
    listener.renewed(sentAt);
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const session = this.session;
    const client = this.client;
    if (session?.active && client !== undefined) {
      // Leave with markers first (reason `left`), then revoke: a bare revoke reads as expiry.
      const leaves = [...session.members.values()].map(({ group, memberId }) =>
        this.leaveTxn(client, session, group, memberId, CLOSE_REQUEST_TIMEOUT).catch(() => undefined),
      );
      await Promise.all(leaves);
      await session.revoke(CLOSE_REQUEST_TIMEOUT).catch((error) => {
        this.logger.warn("could not revoke the etcd lease on close; it will expire", {
          leaseId: session.leaseId,
          error: (error as Error).message,
        });
      });
    }
    session?.close();
    await Promise.all([...this.watches].map((watch) => watch.close()));
    this.watches.clear();
    if (client !== undefined) await this.revokeStaleLeases(client, CLOSE_REQUEST_TIMEOUT);
    const clients = [client, ...(this.keepAliveClients ?? [])].filter(
      (each, i, all): each is Etcd3 => each !== undefined && all.indexOf(each) === i,
    );
    await Promise.all(clients.map((each) => closeEtcdClient(each, CLOSE_REQUEST_TIMEOUT)));
  }

  async createGroup(group: string): Promise<void> {
    const key = this.keys.group(group);
    const token = randomUUID();
    await this.withRetry(async (client, attempt) => {
      const res = await this.txn(client, {
        compare: [{ key, target: "Version", result: "Equal", version: 0 }],
        success: [
          { request_put: { key, value: Buffer.from(JSON.stringify({ createdAt: Date.now(), token })) } },
        ],
        failure: [{ request_range: { key } }],
      });
      if (res.succeeded) return;
      // A retry of a create whose answer was lost finds its own token.
      const existing = rangeKvs(res, 0)[0];
      if (attempt > 1 && existing !== undefined && existing.value.toString("utf8").includes(token)) return;
      throw groupExists(group);
    });
  }

  async deleteGroup(group: string): Promise<void> {
    const key = this.keys.group(group);
    const members = this.keys.members(group);
    const contents = this.keys.groupContents(group);
    await this.withRetry(async (client, attempt) => {
      const res = await this.txn(client, {
        compare: [
          { key, target: "Version", result: "Greater", version: 0 },
          { key: members.key, range_end: members.rangeEnd, target: "Version", result: "Equal", version: 0 },
        ],
        success: [
          { request_delete_range: { key } },
          { request_delete_range: { key: contents.key, range_end: contents.rangeEnd } },
        ],
        failure: [{ request_range: { key, count_only: true } }],
      });
      if (res.succeeded) return;
      if (rangeCount(res, 0) === 0) {
        if (attempt > 1) return; // our own earlier attempt deleted it
        throw groupNotFound(group);
      }
      throw groupNotEmpty(group);
    });
  }

  async listGroups(): Promise<string[]> {
    const range = this.keys.groups();
    return this.withRetry(async (client) => {
      const res = await client.kv.range({ key: range.key, range_end: range.rangeEnd, keys_only: true });
      return res.kvs.map((kv) => this.keys.groupName(kv.key));
    });
  }

  async join(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const session = this.requireSession();
    const groupKey = this.keys.group(group);
    const key = this.keys.member(group, memberId);
    const heldKey = key.toString("utf8");
    const now = Date.now();
    const value = encodeMember(metadata, now, now);
    return this.withRetry(async (client) => {
      const res = await this.txn(client, {
        compare: [
          { key: groupKey, target: "Version", result: "Greater", version: 0 },
          { key, target: "Version", result: "Equal", version: 0 },
        ],
        success: [{ request_put: { key, value, lease: session.leaseId } }, { request_range: { key } }],
        failure: [{ request_range: { key: groupKey, count_only: true } }, { request_range: { key } }],
      });
      if (res.succeeded) {
        const kv = rangeKvs(res, 1)[0];
        if (kv === undefined) throw new Error("etcd returned no record for the member just written");
        session.members.set(heldKey, { group, memberId, joinedAt: now });
        return decodeMember(group, memberId, kv);
      }
      if (rangeCount(res, 0) === 0) {
        throw groupNotFound(group, memberId);
      }
      const existing = rangeKvs(res, 1)[0];
      // A retry of a join whose answer was lost (ours, or the caller's) finds the key on our own lease:
      // the member as it is, with the metadata asked for.
      if (existing !== undefined && existing.lease === session.leaseId) {
        return this.rejoin(client, session, group, memberId, metadata, existing);
      }
      throw memberExists(group, memberId);
    }, session);
  }

  /**
   * The join of a member key already on this session's lease: its record (original `seq`), with its
   * value rewritten as {@link update} would when the metadata differs.
   */
  private async rejoin(
    client: Etcd3,
    session: LeaseSession,
    group: string,
    memberId: string,
    metadata: Metadata,
    existing: IKeyValue,
  ): Promise<Member> {
    const key = this.keys.member(group, memberId);
    const current = decodeMember(group, memberId, existing);
    const joinedAt = current.joinedAt.getTime();
    session.members.set(key.toString("utf8"), { group, memberId, joinedAt });
    if (JSON.stringify(current.metadata) === JSON.stringify(metadata)) return current;
    const res = await this.txn(client, {
      compare: [{ key, target: "Lease", result: "Equal", lease: session.leaseId }],
      success: [
        { request_put: { key, value: encodeMember(metadata, joinedAt, Date.now()), lease: session.leaseId } },
        { request_range: { key } },
      ],
      failure: [],
    });
    const kv = res.succeeded ? rangeKvs(res, 1)[0] : undefined;
    if (kv === undefined) {
      // Gone from our lease in between (a concurrent leave of the same member): the caller may join again.
      session.members.delete(key.toString("utf8"));
      throw memberNotJoined(group, memberId);
    }
    return decodeMember(group, memberId, kv);
  }

  async leave(group: string, memberId: string): Promise<void> {
    const session = this.requireSession();
    const heldKey = this.keys.member(group, memberId).toString("utf8");
    await this.withRetry(async (client, attempt) => {
      const left = await this.leaveTxn(client, session, group, memberId, this.callTimeout);
      if (left || (attempt > 1 && session.members.has(heldKey))) {
        session.members.delete(heldKey);
        return;
      }
      session.members.delete(heldKey);
      throw memberNotJoined(group, memberId);
    }, session);
  }

  /** Deletes a member key of this session together with its leave marker; false if not ours. */
  private async leaveTxn(
    client: Etcd3,
    session: LeaseSession,
    group: string,
    memberId: string,
    timeoutMs: number,
  ): Promise<boolean> {
    const key = this.keys.member(group, memberId);
    const marker = this.keys.leftMarker(group, memberId);
    const res = await this.txn(
      client,
      {
        compare: [{ key, target: "Lease", result: "Equal", lease: session.leaseId }],
        success: [
          { request_delete_range: { key } },
          { request_put: { key: marker, value: Buffer.alloc(0), lease: session.leaseId } },
        ],
        failure: [],
      },
      timeoutMs,
    );
    return res.succeeded;
  }

  async update(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const session = this.requireSession();
    const key = this.keys.member(group, memberId);
    const joinedAt = session.members.get(key.toString("utf8"))?.joinedAt;
    if (joinedAt === undefined) throw memberNotJoined(group, memberId);
    const value = encodeMember(metadata, joinedAt, Date.now());
    return this.withRetry(async (client) => {
      const res = await this.txn(client, {
        compare: [{ key, target: "Lease", result: "Equal", lease: session.leaseId }],
        success: [{ request_put: { key, value, lease: session.leaseId } }, { request_range: { key } }],
        failure: [],
      });
      const kv = res.succeeded ? rangeKvs(res, 1)[0] : undefined;
      if (kv === undefined) {
        session.members.delete(key.toString("utf8"));
        throw memberNotJoined(group, memberId);
      }
      return decodeMember(group, memberId, kv);
    }, session);
  }

  async members(group: string): Promise<GroupSnapshot> {
    const groupKey = this.keys.group(group);
    const range = this.keys.members(group);
    return this.withRetry(async (client) => {
      // One read-only txn: the group's existence and its members at one revision.
      const res = await this.txn(client, {
        compare: [],
        success: [
          { request_range: { key: groupKey, count_only: true } },
          { request_range: { key: range.key, range_end: range.rangeEnd } },
        ],
        failure: [],
      });
      if (rangeCount(res, 0) === 0) {
        throw groupNotFound(group);
      }
      const members: Member[] = [];
      for (const kv of rangeKvs(res, 1)) {
        const parsed = this.keys.parse(group, kv.key);
        if (parsed?.kind === "member") members.push(decodeMember(group, parsed.memberId, kv));
      }
      return { members, revision: BigInt(res.header.revision) };
    });
  }

  async watch(group: string, fromRevision: bigint, listener: WatchListener): Promise<WatchHandle> {
    return this.watchRange(this.keys.groupContents(group), fromRevision + 1n, {
      events: (events) => {
        for (const event of this.translate(group, events)) listener.event(event);
      },
      lost: (reason) => listener.resync(reason),
    });
  }

  /**
   * A {@link RangeWatch} from `startRevision`, closed with the driver and recycled when the session's
   * node stalls; resolves once etcd has created it. Group and configuration watches both use it.
   */
  private async watchRange(
    range: { key: Buffer; rangeEnd?: Buffer },
    startRevision: bigint,
    listener: RangeWatchListener,
  ): Promise<WatchHandle> {
    const client = await this.ensureClient();
    const watch = new RangeWatch(
      client,
      range,
      startRevision,
      {
        events: (events) => listener.events(events),
        lost: (reason) => {
          this.watches.delete(watch);
          listener.lost(reason);
        },
      },
      this.logger,
    );
    this.watches.add(watch);
    try {
      await watch.start(this.callTimeout);
    } catch (error) {
      this.watches.delete(watch);
      throw this.wrap(error);
    }
    return {
      close: async () => {
        this.watches.delete(watch);
        await watch.close();
      },
    };
  }

  /** Watch events → driver events; a member delete is `left` when its marker was written in the same revision. */
  private translate(group: string, events: IEvent[]): DriverEvent[] {
    const leftAt = new Set<string>();
    for (const event of events) {
      const parsed = this.keys.parse(group, event.kv.key);
      if (parsed?.kind === "left" && event.type === "Put")
        leftAt.add(`${event.kv.mod_revision}/${parsed.memberId}`);
    }
    const out: DriverEvent[] = [];
    for (const event of events) {
      const parsed = this.keys.parse(group, event.kv.key);
      if (parsed?.kind !== "member") continue;
      const revision = BigInt(event.kv.mod_revision);
      if (event.type === "Delete") {
        const reason = leftAt.has(`${event.kv.mod_revision}/${parsed.memberId}`) ? "left" : "expired";
        out.push({ type: "leave", memberId: parsed.memberId, reason, revision });
      } else {
        const member = decodeMember(group, parsed.memberId, event.kv);
        out.push({ type: event.kv.version === "1" ? "join" : "update", member, revision });
      }
    }
    return out;
  }

  async awaitGone(group: string, memberId: string, signal: AbortSignal, seq?: bigint): Promise<void> {
    const key = this.keys.member(group, memberId);
    // Transient failures are waited out rather than reported: elections read a rejection as "gone".
    for (let failures = 0; ; ) {
      signal.throwIfAborted();
      try {
        if ((await this.awaitDelete(key, seq, signal)) === "gone") return;
        failures = 0;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (RollcallError.isInstance(error) && error.code !== "CONNECTION") throw error;
        failures++;
        this.logger.debug("awaitGone: etcd unreachable; retrying", {
          group,
          memberId,
          error: (error as Error).message,
        });
        await delay(backoff(failures, { initial: 100, max: 1000 }), undefined, { signal }).catch(
          () => undefined,
        );
      }
    }
  }

  /**
   * Reads the key, then watches it from that revision: `gone` when it is absent, holds another
   * incarnation than `seq` (its `create_revision`), or is deleted; `relist` if the watch lost continuity.
   * A later re-join under the same id needs a delete first, which the watch sees.
   */
  private async awaitDelete(
    key: Buffer,
    seq: bigint | undefined,
    signal: AbortSignal,
  ): Promise<"gone" | "relist"> {
    const res = await this.withRetry((client) => client.kv.range({ key, keys_only: true }));
    const current = res.kvs[0];
    if (current === undefined || (seq !== undefined && BigInt(current.create_revision) !== seq))
      return "gone";
    const client = await this.ensureClient();
    signal.throwIfAborted();
    return new Promise<"gone" | "relist">((resolve, reject) => {
      const finish = (settle: () => void) => {
        signal.removeEventListener("abort", onAbort);
        this.watches.delete(watch);
        void watch.close();
        settle();
      };
      const onAbort = () => finish(() => reject(signal.reason));
      const watch = new RangeWatch(
        client,
        { key },
        BigInt(res.header.revision) + 1n,
        {
          events: (events) => {
            if (events.some((event) => event.type === "Delete")) finish(() => resolve("gone"));
          },
          lost: () => finish(() => resolve("relist")),
        },
        this.logger,
      );
      signal.addEventListener("abort", onAbort, { once: true });
      this.watches.add(watch);
      watch.start(this.callTimeout).catch((error: unknown) => finish(() => reject(this.wrap(error))));
    });
  }

  private requireSession(): LeaseSession {
    const session = this.session;
    if (session === undefined || !session.active || this.closing !== undefined) {
      throw noSession("etcd");
    }
    return session;
  }

  private ensureClient(): Promise<Etcd3> {
    this.clientPromise ??= createEtcdClient(this.options, this.config.url, () => this.callTimeout).then(
      async (client) => {
        if (this.options.endpoints.length > 1) {
          // One client per member for the keep-alive stream (see LeaseSession).
          this.keepAliveClients = await Promise.all(
            this.options.endpoints.map((endpoint) =>
              createEtcdClient(this.options, this.config.url, () => this.callTimeout, [endpoint]),
            ),
          );
        }
        this.client = client;
        return client;
      },
      (error: unknown) => {
        this.clientPromise = undefined;
        throw error;
      },
    );
    return this.clientPromise;
  }

  /**
   * Runs `op` (whose attempts are numbered from 1), retrying transient failures on another host.
   * `session`: the session whose lease `op` writes with, expired if etcd no longer knows the lease.
   */
  private async withRetry<T>(
    op: (client: Etcd3, attempt: number) => Promise<T>,
    session?: LeaseSession,
  ): Promise<T> {
    const client = await this.ensureClient();
    const attempts = Math.max(2, this.options.endpoints.length + 1);
    for (let attempt = 1; ; attempt++) {
      try {
        return await op(client, attempt);
      } catch (error) {
        if (RollcallError.isInstance(error)) throw error;
        if (error instanceof EtcdLeaseInvalidError && session !== undefined) {
          session.expire("etcd reports the lease expired or revoked");
          throw sessionExpired("etcd", undefined, {
            cause: error,
          });
        }
        if (attempt >= attempts || !isTransient(error) || this.closing !== undefined) throw this.wrap(error);
        await delay(backoff(attempt - 1, { initial: 50, max: 1000 }));
      }
    }
  }

  private txn(
    client: Etcd3,
    request: { compare: ICompare[]; success: IRequestOp[]; failure: IRequestOp[] },
    timeoutMs = this.callTimeout,
  ): Promise<ITxnResponse> {
    return client.kv.txn(request, { deadline: Date.now() + timeoutMs });
  }

  /**
   * Revokes the leases of sessions declared expired locally: etcd may still hold one (a leader change
   * extends leases), and its keys would make the re-join find its own old members.
   */
  private async revokeStaleLeases(client: Etcd3, timeoutMs = this.callTimeout): Promise<void> {
    await Promise.all(
      [...this.staleLeases].map(async (leaseId) => {
        try {
          await revokeLease(client, leaseId, timeoutMs);
          this.staleLeases.delete(leaseId);
        } catch (error) {
          this.logger.debug("could not revoke an expired session's lease yet", {
            leaseId,
            error: (error as Error).message,
          });
        }
      }),
    );
  }

  private wrap(error: unknown): RollcallError {
    return toRollcallError(error, this.options.endpoints, this.config.url.username);
  }

  toString(): string {
    return `EtcdDriver(${this.config.url.redacted})`;
  }

  /**
   * What `util.inspect` shows: the redacted URL. The driver holds the etcd3 client, whose options carry
   * the password, and any object that reaches the driver (a coordinator's session) would print it.
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
