import { perPool } from "./knex-pool.js";
import type { HeartbeatResult, SqlStore } from "./sql-store.js";
import type { BusyOptions } from "./sqlite-busy.js";

/** What one session's heartbeat in a batch learned. */
export interface BatchedBeat {
  /** Whether the session was still alive: its deadline moved on. */
  alive: boolean;
  /** When (`performance.now()`) the statement that renewed it was sent. */
  sentAt: number;
  /** The database clock when it ran, where the dialect returns it. */
  now?: number;
  /** The earliest deadline of a session outside the batch, where the dialect returns it. */
  nextDeadline?: number | null;
}

interface Request {
  id: string;
  store: SqlStore;
  deadline: number;
  signal: AbortSignal;
  nextDeadline: boolean;
  resolve(beat: BatchedBeat): void;
  reject(error: unknown): void;
}

/**
 * The heartbeats of a process's sessions on one database, namespace and session timeout, sent as one
 * statement per slot instead of one per session: the 100 coordinators of a process cost the server a
 * few statements per heartbeat interval, not 100. A heartbeat waits for the end of the current slot
 * (a quarter of the interval, so at most that much later than it would have left alone); the statement
 * leaves then with every heartbeat that arrived meanwhile. A session's renewal is dated by when the
 * statement left, so the keeper's validity never counts the wait.
 */
export class HeartbeatBatch {
  private waiting: Request[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly timeout: number,
    private readonly slot: number,
  ) {}

  /** The batch of `store`'s pool for its namespace and `timeout`, heartbeats every `interval` ms. */
  static of(store: SqlStore, timeout: number, interval: number): HeartbeatBatch {
    return perPool(
      store.knex,
      `heartbeat\0${store.tables.sessions}\0${store.nsId}\0${timeout}\0${interval}`,
      () => new HeartbeatBatch(timeout, Math.max(1, Math.floor(interval / 4))),
    );
  }

  /**
   * Renews session `id` with the next statement of the batch. `deadline` (`performance.now()`) bounds the
   * waits of a busy SQLite database; `signal` drops the session from a batch not yet sent and rejects.
   * `nextDeadline`: the caller wants the earliest deadline outside the batch (MySQL reads it only then).
   */
  beat(
    id: string,
    store: SqlStore,
    deadline: number,
    signal: AbortSignal,
    nextDeadline = false,
  ): Promise<BatchedBeat> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const request: Request = { id, store, deadline, signal, nextDeadline, resolve, reject };
      const onAbort = () => {
        const at = this.waiting.indexOf(request);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      request.resolve = (beat) => {
        signal.removeEventListener("abort", onAbort);
        resolve(beat);
      };
      request.reject = (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      };
      this.waiting.push(request);
      if (this.timer === undefined) {
        this.timer = setTimeout(() => this.send(), this.slot - (performance.now() % this.slot));
        this.timer.unref?.();
      }
    });
  }

  private send(): void {
    this.timer = undefined;
    const requests = this.waiting;
    this.waiting = [];
    const first = requests[0];
    if (first === undefined) return;
    // Every session's own signal still drops it from this statement's result; the statement itself is
    // given up only once all of them are (SQLite's busy waits).
    const all = new AbortController();
    let open = requests.length;
    for (const request of requests)
      request.signal.addEventListener(
        "abort",
        () => {
          if (--open === 0) all.abort(request.signal.reason);
        },
        { once: true },
      );
    let sentAt = performance.now();
    const busy: BusyOptions = {
      deadline: Math.min(...requests.map((r) => r.deadline)),
      signal: all.signal,
      urgent: true,
      onAttempt: () => {
        sentAt = performance.now();
      },
    };
    const ids = requests.map((r) => r.id);
    const wanted = requests.some((r) => r.nextDeadline);
    first.store.heartbeat(ids, this.timeout, busy, wanted).then(
      (result: HeartbeatResult) => {
        for (const request of requests) {
          const beat: BatchedBeat = { alive: result.alive.has(request.id), sentAt };
          if (result.now !== undefined) beat.now = result.now;
          if (result.nextDeadline !== undefined) beat.nextDeadline = result.nextDeadline;
          request.resolve(beat);
        }
      },
      (error: unknown) => {
        for (const request of requests) request.reject(error);
      },
    );
  }
}
