import { RollcallError } from "../errors/rollcall-error.js";
import type { Logger } from "../types.js";
import type { SessionListener } from "./driver.js";

/** What one renewal of a TTL session reported. */
export interface Renewal {
  /** False when the server says the session is gone (expired, reaped, or its data was lost). */
  alive: boolean;
  /**
   * Renew again after this many ms rather than at the regular interval, when sooner: e.g. right after
   * another session's deadline, so a renewal that also reaps sees that expiry within the bound.
   */
  nextIn?: number;
  /**
   * When (`performance.now()`) the request that renewed the session left, if later than the renewal's
   * start: e.g. the try that got through after the server was busy (SQLite's write lock). Reported to
   * `renewed(sentAt)`; default: when `renew()` was called.
   */
  sentAt?: number;
  /** Why the session is gone, when `alive` is false, for the log (default: the server says it is gone). */
  reason?: string;
}

/** Settings of a {@link TtlSession}. */
export interface TtlSessionOptions {
  /** Where the session's state and renewals are reported. */
  listener: SessionListener;
  /** The session's time to live on the server, in ms (its `sessionTimeout`). */
  ttl: number;
  /**
   * Renew every this many ms (at least 10). Default, and most: `ttl / 3`, the contract's slowest renewal
   * (SQL takes a shorter one from its `heartbeatInterval` URL parameter).
   */
  interval?: number;
  /**
   * One renewal: a request that extends the session's deadline on the server to its receipt + `ttl`.
   * `signal` aborts when the keeper stops (the session expired, was replaced or closed; the reason is a
   * `NOT_CONNECTED` error) or once `ttl` has passed since the renewal started (a `TIMEOUT` error): by then
   * it can no longer keep the session, and a renewal that retries (SQLite's busy database) should give up.
   */
  renew(signal: AbortSignal): Promise<Renewal>;
  /**
   * Count the session gone once no renewal has been acknowledged for this many ms (at least `ttl`, the
   * default). Longer only where the server itself extends sessions it could not hear from: etcd, whose new
   * leader gives every lease its TTL again plus an election timeout, so a client that could not get through
   * during a leader change has not lost its lease.
   */
  expireAfter?: number;
  /**
   * Abort a renewal still unanswered when it is called overdue (its `signal` aborts with a `TIMEOUT` error)
   * instead of waiting for it until `ttl`: for a driver whose renewal path itself may be stuck and should
   * be replaced — etcd's keep-alive stream through a frozen or cut-off cluster member. The next renewal
   * follows after `min(interval, 250)` ms, as after a failure. Default false.
   */
  abandonOverdue?: boolean;
  logger: Logger;
  /** When (`performance.now()`) the server acknowledged the session's creation. */
  openedAt: number;
  /**
   * Told of each change of state with its reason, before the listener: for a backend that logs its
   * session's states in its own words (SQL warns, naming the database). When given, the keeper does not
   * log the expiry itself (by default it does, at info: `session expired`).
   */
  onState?(state: "connected" | "suspended" | "expired", reason: string): void;
}

/**
 * The session keeper of a backend whose sessions are a TTL the client refreshes (Redis, SQL, etcd): core runs
 * the timer and every decision, the driver supplies one renewal. It renews every `interval` (default
 * `ttl / 3`) and reports
 * - `renewed(sentAt)` for each acknowledged renewal (and each other write the driver reports through
 *   {@link acknowledged});
 * - `suspended` when a renewal fails, or is still unanswered after `interval` or `ttl / 4`, whichever is
 *   shorter (at least 50 ms): a stalled server or path. That is said at most `interval + ttl / 4 ≤ 7/12`
 *   of the TTL after the last acknowledged renewal was sent, before core's validity fallback at `3/4`;
 *   and `connected` when one succeeds again;
 * - `expired` when the server says the session is gone, or once no renewal has been acknowledged for a
 *   whole `ttl` (or `expireAfter`) — by then its deadline on the server has certainly passed.
 * A failed renewal is retried after `min(interval, 250)` ms.
 */
export class TtlSession {
  private state: "connected" | "suspended" | "expired" = "connected";
  private lastAck: number;
  /** The renewal under way: aborted when the keeper stops. */
  private inFlight: AbortController | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly interval: number;
  private readonly overdueAfter: number;
  private readonly expireAfter: number;

  constructor(private readonly options: TtlSessionOptions) {
    const third = Math.floor(options.ttl / 3);
    this.expireAfter = Math.max(options.ttl, options.expireAfter ?? options.ttl);
    this.interval = Math.max(10, Math.min(options.interval ?? third, third));
    this.overdueAfter = Math.max(50, Math.floor(Math.min(this.interval, options.ttl / 4)));
    this.lastAck = options.openedAt;
    this.armWatchdog();
    this.schedule(this.interval);
  }

  /** Whether the session can still be used (not expired, not stopped). */
  get live(): boolean {
    return !this.ended;
  }

  /** The server acknowledged a request sent at `sentAt` that renewed the session. */
  acknowledged(sentAt: number): void {
    if (this.ended) return;
    this.lastAck = performance.now();
    this.armWatchdog();
    if (this.state === "suspended") this.enter("connected", "a renewal was acknowledged");
    this.options.listener.renewed(sentAt);
  }

  /** The server is unreachable (the connection was lost, a request failed). */
  suspend(reason = "the server is unreachable"): void {
    if (this.ended || this.state !== "connected") return;
    this.enter("suspended", reason);
  }

  /** The session is gone on the server: reports `expired` once and stops. */
  expire(reason: string): void {
    if (this.ended) return;
    if (this.options.onState === undefined) this.options.logger.info("session expired", { reason });
    this.stop();
    this.enter("expired", reason);
  }

  /** Renews now (after a reconnect), instead of at the next tick. */
  renewNow(): void {
    if (this.ended) return;
    this.schedule(0);
  }

  /** Stops the timers without reporting anything (close, or a new session replaced this one). */
  stop(): void {
    this.ended = true;
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.renewTimer = undefined;
    this.watchdog = undefined;
    this.inFlight?.abort(new RollcallError("NOT_CONNECTED", "the session ended"));
  }

  private enter(state: "connected" | "suspended" | "expired", reason: string): void {
    this.state = state;
    this.options.onState?.(state, reason);
    this.options.listener.state(state);
  }

  private schedule(delay: number): void {
    if (this.ended) return;
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      this.renew();
    }, delay);
  }

  // No acknowledgement for a whole TTL: the server's deadline (set when it ran the last acknowledged
  // request, before the reply arrived) has passed.
  private armWatchdog(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    const after = this.expireAfter;
    const wait = Math.max(0, this.lastAck + after - performance.now());
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (performance.now() >= this.lastAck + after) {
        const ttl = this.options.ttl;
        this.expire(`no renewal was acknowledged for ${after} ms${after > ttl ? ` (TTL ${ttl} ms)` : ""}`);
      } else {
        this.armWatchdog();
      }
    }, wait + 1);
  }

  private renew(): void {
    if (this.ended || this.inFlight !== undefined) return;
    const { ttl } = this.options;
    const abort = new AbortController();
    this.inFlight = abort;
    const sentAt = performance.now();
    const overdue = setTimeout(() => {
      if (this.inFlight !== abort) return;
      const why = `a renewal is unanswered after ${this.overdueAfter} ms`;
      this.suspend(why);
      if (this.options.abandonOverdue) abort.abort(new RollcallError("TIMEOUT", why));
    }, this.overdueAfter);
    const lapse = setTimeout(
      () => abort.abort(new RollcallError("TIMEOUT", `the renewal was not answered within ${ttl} ms`)),
      ttl,
    );
    lapse.unref?.();
    const settled = (): boolean => {
      clearTimeout(overdue);
      clearTimeout(lapse);
      if (this.inFlight === abort) this.inFlight = undefined;
      return !this.ended;
    };
    this.options.renew(abort.signal).then(
      (renewal) => {
        if (!settled()) return;
        if (!renewal.alive) {
          this.expire(renewal.reason ?? "the server says the session is gone");
          return;
        }
        this.acknowledged(Math.max(sentAt, renewal.sentAt ?? sentAt));
        let next = this.interval;
        if (renewal.nextIn !== undefined && renewal.nextIn < next) next = Math.max(10, renewal.nextIn);
        this.schedule(Math.max(0, next - (performance.now() - sentAt)));
      },
      (error: unknown) => {
        if (!settled()) return;
        const text = error instanceof Error ? error.message : String(error);
        this.options.logger.debug("renewing the session failed", { error: text });
        this.suspend(text);
        this.schedule(Math.min(this.interval, 250));
      },
    );
  }
}
