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
}

/** Settings of a {@link TtlSession}. */
export interface TtlSessionOptions {
  /** Where the session's state and renewals are reported. */
  listener: SessionListener;
  /** The session's time to live on the server, in ms (its `sessionTimeout`). */
  ttl: number;
  /** One renewal: a request that extends the session's deadline on the server to its receipt + `ttl`. */
  renew(): Promise<Renewal>;
  logger: Logger;
  /** When (`performance.now()`) the server acknowledged the session's creation. */
  openedAt: number;
}

/**
 * The session keeper of a backend whose sessions are a TTL the client refreshes (Redis, SQL): core runs
 * the timer and every decision, the driver supplies one renewal. It renews every `ttl / 3` and reports
 * - `renewed(sentAt)` for each acknowledged renewal (and each other write the driver reports through
 *   {@link acknowledged});
 * - `suspended` when a renewal fails, or is still unanswered after `ttl / 4` (a stalled server or path:
 *   said at most `7/12` of the TTL after the last acknowledged renewal was sent, before core's validity
 *   fallback at `3/4`), and `connected` when one succeeds again;
 * - `expired` when the server says the session is gone, or once no renewal has been acknowledged for a
 *   whole `ttl` — by then its deadline on the server has certainly passed.
 * A failed renewal is retried after `min(ttl / 3, 250)` ms.
 */
export class TtlSession {
  private state: "connected" | "suspended" | "expired" = "connected";
  private lastAck: number;
  private inFlight = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly interval: number;

  constructor(private readonly options: TtlSessionOptions) {
    this.interval = Math.max(10, Math.floor(options.ttl / 3));
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
    if (this.state === "suspended") {
      this.state = "connected";
      this.options.listener.state("connected");
    }
    this.options.listener.renewed(sentAt);
  }

  /** The server is unreachable (the connection was lost, a request failed). */
  suspend(): void {
    if (this.ended || this.state !== "connected") return;
    this.state = "suspended";
    this.options.listener.state("suspended");
  }

  /** The session is gone on the server: reports `expired` once and stops. */
  expire(reason: string): void {
    if (this.ended) return;
    this.options.logger.info("session expired", { reason });
    this.stop();
    this.state = "expired";
    this.options.listener.state("expired");
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
    const ttl = this.options.ttl;
    const wait = Math.max(0, this.lastAck + ttl - performance.now());
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (performance.now() >= this.lastAck + ttl) {
        this.expire(`no renewal was acknowledged for ${ttl} ms`);
      } else {
        this.armWatchdog();
      }
    }, wait + 1);
  }

  private renew(): void {
    if (this.ended || this.inFlight) return;
    this.inFlight = true;
    const sentAt = performance.now();
    const overdue = setTimeout(
      () => {
        if (this.inFlight) this.suspend();
      },
      Math.max(50, Math.floor(this.options.ttl / 4)),
    );
    this.options.renew().then(
      (renewal) => {
        clearTimeout(overdue);
        this.inFlight = false;
        if (this.ended) return;
        if (!renewal.alive) {
          this.expire("the server says the session is gone");
          return;
        }
        this.acknowledged(sentAt);
        let next = this.interval;
        if (renewal.nextIn !== undefined && renewal.nextIn < next) next = Math.max(10, renewal.nextIn);
        this.schedule(Math.max(0, next - (performance.now() - sentAt)));
      },
      (error: unknown) => {
        clearTimeout(overdue);
        this.inFlight = false;
        if (this.ended) return;
        this.options.logger.debug("renewing the session failed", {
          error: error instanceof Error ? error.message : String(error),
        });
        this.suspend();
        this.schedule(Math.min(this.interval, 250));
      },
    );
  }
}
