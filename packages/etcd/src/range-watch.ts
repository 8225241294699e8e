import { backoff, type Logger } from "@rollcall/core/driver";
import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from "etcd3";
import { discardStream, isInvalidAuthToken } from "./errors.js";

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/** What a {@link RangeWatch} delivers. */
export interface RangeWatchListener {
  /** The events of one or more whole revisions, in revision order. */
  events(events: IEvent[]): void;
  /** Continuity is lost (the next revision was compacted, or etcd cancelled the watch); it has stopped. */
  lost(reason: string): void;
}

/**
 * A watch on a key range that survives reconnects without losing or repeating anything: our own
 * stream over etcd3's `Watch` RPC rather than etcd3's `Watcher`, which resumes from the revision in
 * the *creation* response's header and so can skip events that were still in flight.
 *
 * It resumes from one past the last revision it delivered; if etcd has compacted that revision
 * meanwhile, it reports {@link RangeWatchListener.lost}.
 */
export class RangeWatch {
  private stream: WatchStream | undefined;
  /** The first revision not yet delivered. */
  private nextRevision: bigint;
  private closed = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private settleStart: ((error?: Error) => void) | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly range: { key: Buffer; rangeEnd?: Buffer },
    startRevision: bigint,
    private readonly listener: RangeWatchListener,
    private readonly logger: Logger,
  ) {
    this.nextRevision = startRevision;
  }

  /**
   * Opens the stream; resolves once etcd has created the watch (or reported it lost), rejects if no
   * stream can be created within `timeoutMs` (the watch is then closed).
   */
  start(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settleStart?.(new Error(`no watch stream after ${timeoutMs} ms`));
      }, timeoutMs);
      this.settleStart = (error) => {
        this.settleStart = undefined;
        clearTimeout(timer);
        if (error === undefined) {
          resolve();
          return;
        }
        void this.close();
        reject(error);
      };
      void this.connect();
    });
  }

  /** Drops the stream and resumes on a fresh one (its node may be frozen or partitioned). */
  recycle(): void {
    if (this.closed || this.stream === undefined) return;
    this.dropStream();
    this.scheduleReconnect(false);
  }

  /** Stops delivering; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.dropStream();
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.closed) return;
    let stream: WatchStream;
    try {
      stream = await this.client.watchClient.watch();
    } catch (error) {
      this.onFailure(undefined, error as Error);
      return;
    }
    if (this.closed) {
      discardStream(stream);
      return;
    }
    this.stream = stream;
    stream.on("data", (response) => this.onResponse(stream, response));
    stream.on("error", (error) => this.onFailure(stream, error));
    stream.on("end", () => this.onFailure(stream, new Error("watch stream ended")));
    stream.write({
      create_request: {
        key: this.range.key,
        ...(this.range.rangeEnd === undefined ? {} : { range_end: this.range.rangeEnd }),
        start_revision: this.nextRevision.toString(),
      },
    });
  }

  private onResponse(stream: WatchStream, response: IWatchResponse): void {
    if (stream !== this.stream || this.closed) return;
    if (response.canceled && response.cancel_reason.includes("invalid auth token")) {
      // The stream's token expired: renew it and resume, nothing is lost.
      this.dropStream();
      this.scheduleReconnect(true);
      return;
    }
    if (response.canceled) {
      const compacted = response.compact_revision !== "0" && response.compact_revision !== "";
      const reason = compacted
        ? `revision ${this.nextRevision} was compacted (etcd has history from ${response.compact_revision} on)`
        : `etcd cancelled the watch${response.cancel_reason ? `: ${response.cancel_reason}` : ""}`;
      void this.close();
      this.settleStart?.();
      // After start() has resolved, so the owner holds the handle it is told to close.
      setImmediate(() => this.listener.lost(reason));
      return;
    }
    if (response.created) {
      this.attempts = 0;
      this.settleStart?.();
      return;
    }
    const events = response.events;
    const last = events[events.length - 1];
    if (last === undefined) return;
    this.nextRevision = BigInt(last.kv.mod_revision) + 1n;
    this.listener.events(events);
  }

  private onFailure(stream: WatchStream | undefined, error: Error): void {
    if (stream !== this.stream || this.closed) return;
    this.dropStream();
    this.logger.debug("etcd watch stream failed; resuming", {
      revision: String(this.nextRevision),
      error: error.message,
    });
    this.scheduleReconnect(isInvalidAuthToken(error));
  }

  private scheduleReconnect(refreshToken: boolean): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = backoff(this.attempts, { initial: 50, max: 1000 });
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      // A unary call renews an expired auth token (see isInvalidAuthToken).
      const refresh = refreshToken
        ? this.client.kv.range({ key: this.range.key, limit: 1, keys_only: true }).catch(() => undefined)
        : Promise.resolve();
      void refresh.then(() => this.connect());
    }, delay);
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined) discardStream(stream);
  }
}
