import type { Logger, SessionListener } from "@rollcall/core/driver";

/** What one refresh of the session key reported. */
export interface RefreshReply {
  /** False when the session is gone on the server (expired, reaped, or the data was lost). */
  alive: boolean;
  /** The server's time (ms) when the refresh ran. */
  serverNow: number;
  /** The earliest deadline (server ms) of any session in the namespace, if any. */
  earliestDeadline: number | undefined;
}

/**
 * One session: a key with a TTL on the server, refreshed every `sessionTimeout / 3` by a script that also
 * reaps every session past its deadline. It reports `renewed(sentAt)` for each acknowledged refresh (or
 * other write that renewed it), `suspended` when a refresh fails, `connected` when one succeeds again and
 * `expired` when the server says the session is gone — or when no refresh has been acknowledged for a
 * whole `sessionTimeout`, since by then its deadline on the server has certainly passed.
 */
export class RedisSession {
  private state: "connected" | "suspended" | "expired" = "connected";
  private lastAck: number;
  private inFlight = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly interval: number;

  constructor(
    /** The session id (the `s/<id>` key). */
    readonly id: string,
    private readonly listener: SessionListener,
    private readonly ttl: number,
    private readonly refreshOnce: (id: string) => Promise<RefreshReply>,
    private readonly logger: Logger,
    openedAt: number,
  ) {
    this.interval = Math.max(10, Math.floor(ttl / 3));
    this.lastAck = openedAt;
    this.armWatchdog();
    this.schedule(this.interval);
  }

  /** Whether the session can still be used (not expired, not stopped). */
  get live(): boolean {
    return !this.ended;
  }

  /** The server acknowledged a write sent at `sentAt` that renewed the session. */
  acknowledged(sentAt: number): void {
    if (this.ended) return;
    this.lastAck = performance.now();
    this.armWatchdog();
    if (this.state === "suspended") {
      this.state = "connected";
      this.listener.state("connected");
    }
    this.listener.renewed(sentAt);
  }

  /** The server is unreachable (connection lost, a refresh failed). */
  suspend(): void {
    if (this.ended || this.state !== "connected") return;
    this.state = "suspended";
    this.listener.state("suspended");
  }

  /** The session is gone on the server: report `expired` once and stop. */
  expire(reason: string): void {
    if (this.ended) return;
    this.logger.info("redis session expired", { reason });
    this.stop();
    this.state = "expired";
    this.listener.state("expired");
  }

  /** Refresh now (after a reconnect), instead of at the next tick. */
  refreshNow(): void {
    if (this.ended) return;
    this.schedule(0);
  }

  /** Stops the timers without reporting anything (close, or a new session replaced this one). */
  stop(): void {
    this.ended = true;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.refreshTimer = undefined;
    this.watchdog = undefined;
  }

  private schedule(delay: number): void {
    if (this.ended) return;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refresh();
    }, delay);
  }

  // No acknowledgement for a whole sessionTimeout: the server's deadline (set when it ran the last
  // acknowledged write, before the reply arrived) has passed.
  private armWatchdog(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    const wait = Math.max(0, this.lastAck + this.ttl - performance.now());
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (performance.now() >= this.lastAck + this.ttl) {
        this.expire(`no refresh was acknowledged for ${this.ttl} ms`);
      } else {
        this.armWatchdog();
      }
    }, wait + 1);
  }

  private refresh(): void {
    if (this.ended || this.inFlight) return;
    this.inFlight = true;
    const sentAt = performance.now();
    // A refresh still unanswered after a quarter of the TTL: the server (or the path to it) has stalled.
    // Say so now rather than at the command timeout, so leaders stop before core's ¾ fallback would
    // have to stop them (the kit's suspension check): at most interval + TTL/4 = 7/12 of the TTL after
    // the last acknowledged refresh was sent.
    const overdue = setTimeout(
      () => {
        if (this.inFlight) this.suspend();
      },
      Math.max(50, Math.floor(this.ttl / 4)),
    );
    this.refreshOnce(this.id).then(
      (reply) => {
        clearTimeout(overdue);
        this.inFlight = false;
        if (this.ended) return;
        if (!reply.alive) {
          this.expire("the session key is gone on the server");
          return;
        }
        this.acknowledged(sentAt);
        // A session of someone else is about to pass its deadline before our next refresh: run the
        // next refresh (which reaps) right after that deadline, so expiry is seen within the bound.
        let next = this.interval;
        if (reply.earliestDeadline !== undefined) {
          const untilDeadline = reply.earliestDeadline - reply.serverNow + 2;
          if (untilDeadline < next) next = Math.max(10, untilDeadline);
        }
        this.schedule(Math.max(0, next - (performance.now() - sentAt)));
      },
      (error: unknown) => {
        clearTimeout(overdue);
        this.inFlight = false;
        if (this.ended) return;
        this.logger.debug("refreshing the redis session failed", {
          error: error instanceof Error ? error.message : String(error),
        });
        this.suspend();
        this.schedule(Math.min(this.interval, 250));
      },
    );
  }
}
