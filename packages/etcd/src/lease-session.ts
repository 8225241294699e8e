import { performance } from "node:perf_hooks";
import {
  type Logger,
  noSession,
  type Renewal,
  RollcallError,
  raceAbort,
  type SessionListener,
  TtlSession,
} from "@rollcall/core/driver";
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";
import { discardStream, isInvalidAuthToken } from "./errors.js";

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** The keep-alive written on the stream and not answered yet (core's keeper has one renewal in flight). */
interface Waiting {
  sentAt: number;
  settle(outcome: Renewal | Error): void;
}

/**
 * One etcd lease. Core's {@link TtlSession} keeps it: it renews every TTL/4 (so each acknowledgement is
 * reported well within the `sessionTimeout / 3` core asks for, with room for one lost keep-alive), says
 * `suspended` when a keep-alive fails or is unanswered after TTL/4 and `expired` when etcd answers TTL 0
 * (lease not found) or when nothing was acknowledged for TTL + grace. The grace (three etcd election
 * timeouts) is there because leases do not expire while a cluster has no leader, and a new leader extends
 * every lease to TTL + election timeout when it takes over: a client that cannot get a keep-alive through
 * during a leader change (one to two election timeouts, more after a split vote) has not lost its lease,
 * and declaring it lost would make it leave and re-join for nothing. Leaderships do not wait for the grace:
 * core stops trusting them at 0.75 × TTL after the last acknowledged keep-alive was sent.
 *
 * What is etcd's own is the renewal: a keep-alive on our own `LeaseKeepAlive` stream rather than etcd3's
 * `Lease` (which declares a lease lost only after twice its TTL, does not say when a keep-alive was sent,
 * and keeps running after `Etcd3.close()`). A keep-alive unanswered after TTL/4 means the stream's node may
 * be frozen or cut off from its cluster: the stream is dropped, the next one goes through the next cluster
 * member, and `stalled()` tells the driver so its watches move too.
 */
export class LeaseSession {
  /** The lease id, as etcd3 passes int64s (a decimal string). */
  readonly leaseId: string;
  /** The TTL etcd granted, in ms. */
  readonly ttlMs: number;
  /** The members this session holds (their keys are on its lease), by key. */
  readonly members = new Map<string, { group: string; memberId: string; joinedAt: number }>();
  private readonly keeper: TtlSession;
  private stream: KeepAliveStream | undefined;
  private opening: Promise<KeepAliveStream> | undefined;
  private waiting: Waiting | undefined;
  /** The last stream failed on an expired auth token: a unary call renews it before the next stream. */
  private renewToken = false;
  /** etcd said the lease is gone (rather than the keeper giving up on it). */
  private gone = false;
  private closed = false;
  /** Which of {@link streamClients} the next keep-alive stream goes through. */
  private streamIndex: number;

  /**
   * @param client the driver's client, for unary calls
   * @param streamClients clients the keep-alive stream may use, one per cluster member when there are
   *   several: a stream that stalls (its member cut off from the cluster, or frozen) moves to the next
   *   member, rather than to one picked at random that may be the same
   * @param stalled a keep-alive went unanswered: other streams (watches) should move too
   */
  constructor(
    private readonly client: Etcd3,
    private readonly streamClients: readonly Etcd3[],
    grant: { leaseId: string; ttlMs: number; graceMs: number },
    listener: SessionListener,
    private readonly stalled: () => void,
    private readonly logger: Logger,
  ) {
    this.leaseId = grant.leaseId;
    this.ttlMs = grant.ttlMs;
    this.streamIndex = Math.floor(Math.random() * Math.max(1, streamClients.length));
    this.keeper = new TtlSession({
      listener,
      ttl: grant.ttlMs,
      interval: grant.ttlMs / 4,
      expireAfter: grant.ttlMs + grant.graceMs,
      renew: (signal) => this.keepAlive(signal),
      // A keep-alive unanswered after TTL/4: its stream's member may be frozen or cut off — replace it.
      abandonOverdue: true,
      logger,
      openedAt: performance.now(),
      onState: (state, reason) => this.onState(state, reason),
    });
    void this.openStream().catch(() => undefined);
  }

  /** Whether the lease may still be in use (not expired, not closed). */
  get active(): boolean {
    return !this.closed && this.keeper.live;
  }

  /** Whether the session expired while etcd may still hold the lease (the keeper gave up on it). */
  get maybeAlive(): boolean {
    return !this.closed && !this.keeper.live && !this.gone;
  }

  /** etcd reports the lease expired or revoked: ends the session as expired (idempotent). */
  expire(reason: string): void {
    if (!this.keeper.live) return;
    this.gone = true;
    this.keeper.expire(reason);
  }

  /** Stops the keep-alives without touching the lease (revoke it first for a graceful end). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keeper.stop();
    this.dropStream("the session was closed");
  }

  /** Revokes the lease: every key attached to it is deleted. "Not found" counts as done. */
  async revoke(timeoutMs: number): Promise<void> {
    await revokeLease(this.client, this.leaseId, timeoutMs);
  }

  private onState(state: "connected" | "suspended" | "expired", reason: string): void {
    const fields = { leaseId: this.leaseId, reason };
    if (state === "connected") this.logger.info("etcd session reconnected", fields);
    else if (state === "suspended") this.logger.warn("etcd session suspended", fields);
    else {
      this.logger.warn("etcd session expired", fields);
      this.dropStream("the session expired");
    }
  }

  /** One renewal: a keep-alive on the stream, answered in order. */
  private async keepAlive(signal: AbortSignal): Promise<Renewal> {
    let stream: KeepAliveStream;
    try {
      stream = await raceAbort(this.openStream(), signal);
    } catch (error) {
      // Opening it is what hangs: the next try goes through the next cluster member.
      if (signal.aborted && this.overdue(signal)) {
        this.opening = undefined;
        this.streamIndex++;
      }
      throw error;
    }
    return new Promise<Renewal>((resolve, reject) => {
      const onAbort = () => {
        this.failStream(
          stream,
          signal.reason instanceof Error ? signal.reason.message : "the keep-alive was aborted",
        );
        if (this.overdue(signal)) this.stalled();
      };
      const waiting: Waiting = {
        sentAt: performance.now(),
        settle: (outcome) => {
          signal.removeEventListener("abort", onAbort);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      };
      this.waiting = waiting;
      signal.addEventListener("abort", onAbort, { once: true });
      stream.write({ ID: this.leaseId });
    });
  }

  /** Whether the keeper gave up on this renewal as overdue (not: stopped). */
  private overdue(signal: AbortSignal): boolean {
    return RollcallError.hasCode(signal.reason, "TIMEOUT");
  }

  private openStream(): Promise<KeepAliveStream> {
    if (this.stream !== undefined) return Promise.resolve(this.stream);
    if (this.opening === undefined) {
      const opening: Promise<KeepAliveStream> = this.connect().finally(() => {
        if (this.opening === opening) this.opening = undefined;
      });
      this.opening = opening;
    }
    return this.opening;
  }

  private async connect(): Promise<KeepAliveStream> {
    const client = this.streamClients[this.streamIndex % this.streamClients.length] ?? this.client;
    if (this.renewToken) {
      // A unary call renews an expired auth token (see isInvalidAuthToken).
      this.renewToken = false;
      await client.leaseClient.leaseTimeToLive({ ID: this.leaseId }).catch(() => undefined);
    }
    let stream: KeepAliveStream;
    try {
      stream = await client.leaseClient.leaseKeepAlive();
    } catch (error) {
      this.streamIndex++;
      throw new Error(`cannot open the keep-alive stream: ${(error as Error).message}`);
    }
    if (this.closed || !this.keeper.live) {
      discardStream(stream);
      throw noSession("etcd", "the session ended");
    }
    if (this.stream !== undefined) {
      // An abandoned attempt that got through after a newer one: keep the newer.
      discardStream(stream);
      return this.stream;
    }
    this.stream = stream;
    stream.on("data", (response) => this.onResponse(stream, response));
    stream.on("error", (error) => {
      if (isInvalidAuthToken(error)) this.renewToken = true;
      this.failStream(stream, error.message);
    });
    stream.on("end", () => this.failStream(stream, "keep-alive stream ended"));
    return stream;
  }

  private onResponse(stream: KeepAliveStream, response: ILeaseKeepAliveResponse): void {
    const waiting = this.waiting;
    if (stream !== this.stream || waiting === undefined) return;
    this.waiting = undefined;
    if (Number(response.TTL) <= 0) this.gone = true;
    waiting.settle(
      Number(response.TTL) > 0
        ? { alive: true, sentAt: waiting.sentAt }
        : { alive: false, reason: "etcd reports the lease expired or revoked" },
    );
  }

  /**
   * The stream failed (an error, its end, an unanswered keep-alive): drop it, fail the keep-alive waiting on
   * it, and let the next one go through the next cluster member. While no keep-alive waits, say so at once
   * and renew now rather than at the next tick.
   */
  private failStream(stream: KeepAliveStream, reason: string): void {
    if (stream !== this.stream) return;
    this.streamIndex++;
    const idle = this.waiting === undefined;
    this.dropStream(reason);
    if (idle && this.keeper.live && !this.closed) {
      this.keeper.suspend(reason);
      this.keeper.renewNow();
    }
  }

  private dropStream(reason: string): void {
    const stream = this.stream;
    const waiting = this.waiting;
    this.stream = undefined;
    this.waiting = undefined;
    if (stream !== undefined) discardStream(stream);
    waiting?.settle(new Error(reason));
  }
}

/** Revokes a lease, treating "not found" as done. */
export async function revokeLease(client: Etcd3, leaseId: string, timeoutMs: number): Promise<void> {
  try {
    await client.leaseClient.leaseRevoke({ ID: leaseId }, { deadline: Date.now() + timeoutMs });
  } catch (error) {
    if ((error as Error).message.includes("requested lease not found")) return;
    throw error;
  }
}
