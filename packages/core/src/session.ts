import type { Driver, SessionListener } from "./driver/driver.js";
import { isPermanentFailure } from "./driver/open-failure.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { scrubSecrets } from "./errors/scrub-secrets.js";
import { delay, linkedSignal } from "./internal/abort.js";
import { backoff } from "./internal/backoff.js";
import { Listeners } from "./internal/listeners.js";
import type { Logger, SessionState } from "./types.js";

/**
 * Fraction of the session timeout a renewal keeps leaderships valid for. The server cannot expire the
 * session before `sentAt + sessionTimeout`; stopping at three quarters of it leaves room for clock-rate
 * differences and for the last unit of work to notice.
 */
export const VALIDITY_FRACTION = 0.75;

/** Waits between attempts to open a session within `connectTimeout`. */
const OPEN_BACKOFF = { initial: 100, max: 1000, jitter: 0.2 };

/** What a leadership tells its session's `leaderships` listeners about itself. */
export interface LeadershipReport {
  /** A seat of an election, or a lock. */
  readonly kind: "election" | "lock";
  readonly name: string;
  readonly token: bigint;
}

/** Settings of a {@link Session}. */
export interface SessionOptions {
  retryInterval: number;
  connectTimeout: number;
  logger: Logger;
  /** What no failure of `open()` may show (the URL's password, secret keys' values): scrubbed here, once. */
  secrets?: readonly string[];
}

/**
 * The session state machine of a coordinator: opens the driver's session, follows its state reports,
 * keeps the validity deadline leaderships depend on, and re-opens the session after expiry with
 * backoff and jitter. Callbacks from a session that has since been replaced are ignored.
 */
export class Session {
  private current: SessionState = "suspended";
  private generation = 0;
  private opened = 0;
  private validUntilMono = 0;
  private validityTimer: NodeJS.Timeout | undefined;
  private reopening = false;
  /** Suspended by this class because validity ran out, not by a driver report. */
  private suspendedForValidity = false;
  private readonly closing = new AbortController();
  /** Emitted as (state, previous). */
  readonly stateChanged = new Listeners<[SessionState, SessionState]>();
  /** Emitted when leaderships must end now: validity ran out, or the session left `connected`. */
  readonly validityLost = new Listeners<[string]>();
  /** Emitted after a re-opened session is connected; the coordinator re-joins from here. */
  readonly reopened = new Listeners<[]>();
  /** Emitted with the round trip (ms) of every renewal the current session's driver reports. */
  readonly renewals = new Listeners<[number]>();
  /** Emitted by every leadership built on this session when it begins and when it ends (with the reason). */
  readonly leaderships = new Listeners<[LeadershipReport, "elected" | "ended", string | undefined]>();

  constructor(
    private readonly driver: Driver,
    private readonly options: SessionOptions,
  ) {}

  /** How many sessions have been opened: members joined in an earlier epoch are gone. */
  get epoch(): number {
    return this.opened;
  }

  get state(): SessionState {
    return this.current;
  }

  /**
   * The monotonic (`performance.now()`) time until which leaderships are valid, from the last renewal.
   * Only meaningful while {@link isValid}; kept after the session leaves `connected` so the moment a
   * leadership ended can be told afterwards.
   */
  get validUntil(): number {
    return this.validUntilMono;
  }

  /** True while connected and inside the validity deadline. */
  isValid(): boolean {
    return this.current === "connected" && performance.now() < this.validUntilMono;
  }

  /**
   * Opens the first session: one attempt of the driver's `open()` after another, with backoff, until
   * one connects or `connectTimeout` runs out. A permanent failure (refused credentials, bad
   * configuration: see {@link isPermanentFailure}) rejects at once. Rejects with `CONNECTION` naming what
   * the last attempt saw; when the caller's `signal` aborts, with its reason (a deadline — a
   * `TimeoutError` — rejects with `CONNECTION` and the last attempt's failure instead).
   */
  async open(signal?: AbortSignal): Promise<void> {
    await this.openOnce(signal);
  }

  private async openOnce(signal?: AbortSignal): Promise<void> {
    // Not AbortSignal.any + AbortSignal.timeout: on Node 20 that timeout can be lost to GC.
    const deadline = linkedSignal([this.closing.signal, signal], this.options.connectTimeout);
    let lastError: unknown;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.attemptOpen(deadline.signal);
          return;
        } catch (failure) {
          const error = scrubSecrets(failure, this.options.secrets ?? []);
          if (deadline.signal.aborted) {
            // The attempt the deadline cut short tells why only if it failed for a reason of its own.
            const own = error === deadline.signal.reason ? undefined : asConnectionError(error);
            throw this.openFailed(own, lastError, deadline.timedOut, signal);
          }
          if (isPermanentFailure(error)) throw error;
          lastError = asConnectionError(error);
          this.options.logger.debug("opening a session failed; retrying", {
            error: errorText(error),
            attempt,
          });
        }
        try {
          await delay(backoff(attempt, OPEN_BACKOFF), deadline.signal);
        } catch {
          throw this.openFailed(undefined, lastError, deadline.timedOut, signal);
        }
      }
    } finally {
      deadline.dispose();
    }
  }

  /** One attempt of the driver's `open()`; callbacks of an attempt that is not the latest are ignored. */
  private async attemptOpen(signal: AbortSignal): Promise<void> {
    const generation = ++this.generation;
    const startedAt = performance.now();
    const listener: SessionListener = {
      state: (state) => {
        if (generation === this.generation) this.onDriverState(state);
      },
      renewed: (sentAt) => {
        if (generation !== this.generation) return;
        this.renew(sentAt);
        this.renewals.emit(this.options.logger, "renewed", Math.max(0, performance.now() - sentAt));
      },
    };
    await this.driver.open(listener, signal);
    if (generation !== this.generation || this.closing.signal.aborted) {
      throw new RollcallError("NOT_CONNECTED", "the coordinator was closed while connecting");
    }
    this.opened++;
    this.validUntilMono = 0;
    this.renew(startedAt);
    this.setState("connected");
  }

  /**
   * The error of an open that ran out of time or was abandoned: what the last attempt saw (`current`,
   * the attempt the deadline cut short, when it failed for a reason of its own; else the failure
   * before it), never just the bare abort.
   */
  private openFailed(current: unknown, previous: unknown, timedOut: boolean, signal?: AbortSignal): unknown {
    if (this.closing.signal.aborted)
      return new RollcallError("NOT_CONNECTED", "the coordinator was closed while connecting");
    const seen = current ?? previous;
    const last = seen === undefined ? "" : `; the last attempt: ${errorText(seen)}`;
    if (!timedOut && signal?.aborted) {
      const reason: unknown = signal.reason;
      if (!(reason instanceof Error && reason.name === "TimeoutError")) return reason;
      return new RollcallError("CONNECTION", `no session before the caller's deadline${last}`, {
        cause: seen ?? reason,
      });
    }
    return new RollcallError(
      "CONNECTION",
      `no session within connectTimeout=${this.options.connectTimeout} ms${last || "; the server did not answer"}`,
      seen === undefined ? {} : { cause: seen },
    );
  }

  private renew(sentAt: number): void {
    const until = sentAt + this.driver.sessionTimeout * VALIDITY_FRACTION;
    if (until <= this.validUntilMono) return;
    this.validUntilMono = until;
    this.armValidityTimer();
    if (this.suspendedForValidity && this.current === "suspended" && performance.now() < until) {
      // The driver never left `connected`: a renewal got through again, so the session is back.
      this.suspendedForValidity = false;
      this.setState("connected");
    }
  }

  private armValidityTimer(): void {
    if (this.validityTimer !== undefined) return;
    const wait = Math.max(0, this.validUntilMono - performance.now());
    this.validityTimer = setTimeout(() => {
      this.validityTimer = undefined;
      if (this.current === "closed") return;
      if (performance.now() >= this.validUntilMono) {
        // Out of `connected`, leaderships already ended when the session left it.
        if (this.current === "connected") {
          // No renewal acknowledged for ¾ of the timeout: whatever the driver's connection says, the
          // session may be lost (a partition drops packets without closing anything).
          this.options.logger.warn("session validity ran out without a renewal: leaderships end", {});
          this.suspendedForValidity = true;
          this.setState("suspended");
        }
      } else {
        this.armValidityTimer();
      }
    }, wait + 1);
    this.validityTimer.unref?.();
  }

  private onDriverState(state: "connected" | "suspended" | "expired"): void {
    if (this.current === "closed") return;
    if (state === "expired") {
      if (this.current === "expired") return;
      this.setState("expired");
      this.scheduleReopen();
      return;
    }
    if (this.current === "expired") return;
    if (state === "suspended") this.suspendedForValidity = false; // now the driver's report
    this.setState(state);
  }

  private setState(state: SessionState): void {
    const previous = this.current;
    if (previous === state) return;
    if (state !== "suspended") this.suspendedForValidity = false;
    this.current = state;
    if (state !== "connected") {
      if (previous === "connected")
        this.validityLost.emit(this.options.logger, "validity", `the session is ${state}`);
    }
    this.options.logger.info(`session ${state}`, { previous });
    this.stateChanged.emit(this.options.logger, "session", state, previous);
  }

  private scheduleReopen(): void {
    if (this.reopening) return;
    this.reopening = true;
    void this.reopenLoop().finally(() => {
      this.reopening = false;
    });
  }

  private async reopenLoop(): Promise<void> {
    let attempt = 0;
    while (!this.closing.signal.aborted) {
      const wait = backoff(attempt, {
        initial: this.options.retryInterval,
        max: this.options.retryInterval * 8,
        jitter: attempt === 0 ? 0.1 : 0.2,
      });
      try {
        await delay(wait, this.closing.signal);
      } catch {
        return;
      }
      attempt++;
      try {
        await this.openOnce();
      } catch (error) {
        if (this.closing.signal.aborted) return;
        this.options.logger.warn("re-opening the session failed; will retry", {
          error: errorText(error),
          attempt,
        });
        continue;
      }
      this.reopened.emit(this.options.logger, "reopened");
      return;
    }
  }

  /** Called by a leadership on this session when it begins and when it ends. */
  reportLeadership(leadership: LeadershipReport, state: "elected" | "ended", reason?: string): void {
    this.leaderships.emit(this.options.logger, "leadership", leadership, state, reason);
  }

  /** Resolves when the session is `connected`; rejects with `NOT_CONNECTED` once closed or when `signal` aborts. */
  whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.current === "connected") return Promise.resolve();
    if (this.current === "closed") return Promise.reject(notConnected());
    return new Promise((resolve, reject) => {
      const onState = (state: SessionState) => {
        if (state === "connected") finish(undefined);
        else if (state === "closed") finish(notConnected());
      };
      const onAbort = () => finish(signal?.reason);
      const finish = (error: unknown) => {
        this.stateChanged.remove(onState);
        signal?.removeEventListener("abort", onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.stateChanged.add(onState);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Ends the session machine (the driver is closed by the coordinator). */
  markClosed(): void {
    this.closing.abort(notConnected());
    if (this.validityTimer !== undefined) clearTimeout(this.validityTimer);
    this.validityTimer = undefined;
    this.generation++;
    this.setState("closed");
  }
}

/** A driver's failure as a `RollcallError` (`CONNECTION` unless it already is one). */
function asConnectionError(error: unknown): RollcallError {
  if (RollcallError.isInstance(error)) return error;
  return new RollcallError("CONNECTION", errorText(error), { cause: error });
}

function notConnected(): RollcallError {
  return new RollcallError("NOT_CONNECTED", "the coordinator is closed");
}

/** A short description of an error for a log line. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
