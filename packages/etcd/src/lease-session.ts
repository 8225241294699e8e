import { performance } from "node:perf_hooks";
import type { Logger } from "@rollcall/core/driver";
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";
import { discardStream, isInvalidAuthToken } from "./errors.js";

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** What a {@link LeaseSession} reports. */
export interface LeaseSessionHooks {
  /** `suspended` / `connected` as the keep-alive stream fails and recovers; `expired` once, at the end. */
  state(state: "connected" | "suspended" | "expired", reason: string): void;
  /** etcd acknowledged a keep-alive sent at `sentAt` (`performance.now()`) with the lease still alive. */
  renewed(sentAt: number): void;
  /** A keep-alive went unanswered: the stream's node may be frozen, so other streams should move too. */
  stalled(): void;
}

/** How the session ended. */
export type LeaseEnd =
  | { kind: "closed" }
  | { kind: "expired"; reason: string; maybeAlive: boolean /* the server may still hold the lease */ };

/**
 * One etcd lease and the keep-alive loop that keeps it alive: our own loop over etcd3's
 * `LeaseKeepAlive` stream rather than etcd3's `Lease`, which declares a lease lost only after twice
 * its TTL, does not say when a keep-alive was sent, and keeps running after `Etcd3.close()`.
 *
 * A keep-alive goes out every TTL/4 (so each acknowledgement is reported well within the
 * `sessionTimeout / 3` core asks for, with room for one lost keep-alive). The lease counts as gone
 * when etcd answers TTL 0 (lease not found), or when no keep-alive sent in the last TTL + grace was
 * acknowledged. The grace (three etcd election timeouts) is there because leases do not expire
 * while a cluster has no leader, and a new leader extends every lease to TTL + election timeout
 * when it takes over: a client that cannot get a keep-alive through during a leader change (which
 * takes one to two election timeouts, more after a split vote) has not lost its lease, and declaring
 * it lost would make it leave and re-join for nothing. Leaderships do not wait for the grace: core
 * stops trusting them at 0.75 × TTL after the last acknowledged keep-alive was sent.
 */
export class LeaseSession {
  /** The lease id, as etcd3 passes int64s (a decimal string). */
  readonly leaseId: string;
  /** The TTL etcd granted, in ms. */
  readonly ttlMs: number;
  /** The members this session holds (their keys are on its lease), by key. */
  readonly members = new Map<string, { group: string; memberId: string; joinedAt: number }>();
  /** How long past the TTL a silent lease is still given (leader changes extend leases). */
  private readonly graceMs: number;
  private lastAckSentAt: number;
  private stream: KeepAliveStream | undefined;
  private connecting = false;
  /** Send times of the keep-alives written on {@link stream} and not answered yet (answers come in order). */
  private pending: number[] = [];
  private suspended = false;
  private ended: LeaseEnd | undefined;
  private readonly tick: NodeJS.Timeout;
  /** Checks for an overdue answer between ticks, so a stall is reported within a third of the TTL. */
  private readonly overdueCheck: NodeJS.Timeout;
  private expiryTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  /** Which of {@link streamClients} the next keep-alive stream goes through. */
  private streamIndex: number;

  /**
   * @param client the driver's client, for unary calls
   * @param streamClients clients the keep-alive stream may use, one per cluster member when there are
   *   several: a stream that stalls (its member cut off from the cluster, or frozen) moves to the next
   *   member, rather than to one picked at random that may be the same
   */
  constructor(
    private readonly client: Etcd3,
    private readonly streamClients: readonly Etcd3[],
    grant: { leaseId: string; ttlMs: number; sentAt: number; graceMs: number },
    private readonly hooks: LeaseSessionHooks,
    private readonly logger: Logger,
  ) {
    this.leaseId = grant.leaseId;
    this.ttlMs = grant.ttlMs;
    this.graceMs = grant.graceMs;
    this.lastAckSentAt = grant.sentAt;
    this.streamIndex = Math.floor(Math.random() * Math.max(1, streamClients.length));
    this.armExpiry();
    this.tick = setInterval(() => this.onTick(), Math.max(100, Math.floor(this.ttlMs / 4)));
    this.overdueCheck = setInterval(() => this.checkOverdue(), Math.max(50, Math.floor(this.ttlMs / 12)));
    void this.openStream();
  }

  /** Whether the lease may still be in use (not expired, not closed). */
  get active(): boolean {
    return this.ended === undefined;
  }

  /** How it ended, once it has. */
  get end(): LeaseEnd | undefined {
    return this.ended;
  }

  /** Ends the session as expired (idempotent): `maybeAlive` if etcd might still hold the lease. */
  expire(reason: string, maybeAlive: boolean): void {
    if (this.ended !== undefined) return;
    this.ended = { kind: "expired", reason, maybeAlive };
    this.stop();
    this.logger.warn("etcd session expired", { leaseId: this.leaseId, reason });
    this.hooks.state("expired", reason);
  }

  /** Stops the keep-alive loop without touching the lease (revoke it first for a graceful end). */
  close(): void {
    if (this.ended !== undefined) return;
    this.ended = { kind: "closed" };
    this.stop();
  }

  /** Revokes the lease: every key attached to it is deleted. "Not found" counts as done. */
  async revoke(timeoutMs: number): Promise<void> {
    await revokeLease(this.client, this.leaseId, timeoutMs);
  }

  private stop(): void {
    clearInterval(this.tick);
    clearInterval(this.overdueCheck);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.reconnectTimer);
    this.dropStream();
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const left = this.lastAckSentAt + this.ttlMs + this.graceMs - performance.now();
    this.expiryTimer = setTimeout(() => this.checkExpiry(), Math.max(0, left));
  }

  private checkExpiry(): boolean {
    if (this.ended !== undefined) return true;
    const silent = performance.now() - this.lastAckSentAt;
    if (silent < this.ttlMs + this.graceMs) {
      this.armExpiry();
      return false;
    }
    this.expire(`no keep-alive acknowledged for ${Math.round(silent)} ms (TTL ${this.ttlMs} ms)`, true);
    return true;
  }

  private onTick(): void {
    if (this.checkExpiry()) return;
    const stream = this.stream;
    if (stream === undefined) {
      if (!this.connecting && this.reconnectTimer === undefined) void this.openStream();
      return;
    }
    if (this.checkOverdue()) return;
    this.send(stream);
  }

  /**
   * An answer overdue by more than a quarter of the TTL: the node behind this stream may be frozen or
   * cut off from its cluster. Report `suspended` and move to a fresh stream. Checked every TTL/12, so a
   * stall is reported at most TTL/4 + TTL/12 after the unanswered keep-alive was sent — 7/12 of the TTL
   * after the last acknowledged one, before core's ¾ validity fallback. Returns whether it was overdue.
   */
  private checkOverdue(): boolean {
    const oldest = this.pending[0];
    if (this.stream === undefined || oldest === undefined) return false;
    if (performance.now() - oldest <= this.ttlMs / 4) return false;
    this.suspend(`keep-alive unanswered for ${Math.round(performance.now() - oldest)} ms`);
    this.dropStream();
    this.streamIndex++;
    this.hooks.stalled();
    this.scheduleReconnect();
    return true;
  }

  private send(stream: KeepAliveStream): void {
    this.pending.push(performance.now());
    stream.write({ ID: this.leaseId });
  }

  private async openStream(): Promise<void> {
    if (this.ended !== undefined || this.connecting) return;
    this.reconnectTimer = undefined;
    this.connecting = true;
    let stream: KeepAliveStream;
    try {
      stream = await this.streamClient().leaseClient.leaseKeepAlive();
    } catch (error) {
      this.connecting = false;
      this.suspend(`cannot open the keep-alive stream: ${(error as Error).message}`);
      this.scheduleReconnect();
      return;
    }
    this.connecting = false;
    if (this.ended !== undefined) {
      discardStream(stream);
      return;
    }
    this.stream = stream;
    this.pending = [];
    stream.on("data", (response) => this.onResponse(stream, response));
    stream.on("error", (error) => this.onStreamFailure(stream, error.message, isInvalidAuthToken(error)));
    stream.on("end", () => this.onStreamFailure(stream, "keep-alive stream ended", false));
    this.send(stream);
  }

  private onResponse(stream: KeepAliveStream, response: ILeaseKeepAliveResponse): void {
    if (stream !== this.stream || this.ended !== undefined) return;
    const sentAt = this.pending.shift();
    if (Number(response.TTL) <= 0) {
      this.expire("etcd reports the lease expired or revoked", false);
      return;
    }
    if (sentAt === undefined) return;
    if (sentAt > this.lastAckSentAt) {
      this.lastAckSentAt = sentAt;
      this.armExpiry();
    }
    if (this.suspended) {
      this.suspended = false;
      this.logger.info("etcd session reconnected", { leaseId: this.leaseId });
      this.hooks.state("connected", "keep-alive acknowledged");
    }
    this.hooks.renewed(sentAt);
  }

  private onStreamFailure(stream: KeepAliveStream, reason: string, invalidToken: boolean): void {
    if (stream !== this.stream || this.ended !== undefined) return;
    this.dropStream();
    this.streamIndex++;
    this.suspend(reason);
    this.scheduleReconnect(invalidToken);
  }

  private scheduleReconnect(renewToken = false): void {
    if (this.ended !== undefined || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = setTimeout(
      () => {
        // A unary call renews an expired auth token (see isInvalidAuthToken).
        const renewal = renewToken
          ? this.streamClient()
              .leaseClient.leaseTimeToLive({ ID: this.leaseId })
              .catch(() => undefined)
          : Promise.resolve();
        void renewal.then(() => this.openStream());
      },
      Math.min(200, this.ttlMs / 8),
    );
  }

  private streamClient(): Etcd3 {
    return this.streamClients[this.streamIndex % this.streamClients.length] ?? this.client;
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.pending = [];
    if (stream !== undefined) discardStream(stream);
  }

  private suspend(reason: string): void {
    if (this.suspended || this.ended !== undefined) return;
    this.suspended = true;
    this.logger.warn("etcd session suspended", { leaseId: this.leaseId, reason });
    this.hooks.state("suspended", reason);
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
