/**
 * Waiting for another process's SQLite write lock without blocking the event loop.
 *
 * better-sqlite3 is synchronous: with SQLite's own busy timeout, a statement that finds the file's write
 * lock taken sleeps *inside the call* until the lock is free or the timeout passes, and the whole process
 * (every coordinator's timers, heartbeats and watches) stands still meanwhile. So rollcall's connections
 * run with no busy timeout at all ({@link SQLITE_BUSY_TIMEOUT}): a locked database fails a statement at
 * once with `SQLITE_BUSY`, and the whole statement or transaction (rolled back: nothing of it stays) is
 * tried again after a short asynchronous pause, until it commits or {@link SQLITE_BUSY_DEADLINE} passes.
 *
 * The coordinators of a process share one connection per file (see `knex-pool.ts`), so they share one
 * {@link WriteQueue} too, which runs their writes one at a time, heartbeats first: while the database is
 * locked only the write at the head tries again (pausing 1–25 ms between tries) and the others wait,
 * instead of each spending a failed transaction (about a millisecond of CPU) every few ms. Reads do not
 * queue: in WAL mode they never need the write lock.
 */

/** SQLite's own busy timeout on rollcall's connections, in ms: none (it would sleep synchronously). */
export const SQLITE_BUSY_TIMEOUT = 0;

/** How long a call keeps trying while the database is locked before it fails, in ms. */
export const SQLITE_BUSY_DEADLINE = 5000;

/** The first pause between two tries of a locked database, in ms (jittered down to half). */
export const FIRST_PAUSE = 2;

/** The longest pause between two tries, in ms: a released lock is noticed this soon at the latest. */
export const MAX_PAUSE = 25;

/** Whether an error (or its cause) is SQLite's "database is locked" (`SQLITE_BUSY*`, `SQLITE_LOCKED*`). */
export function isBusy(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^SQLITE_(BUSY|LOCKED)/.test(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** How a call waits for a locked database. */
export interface BusyOptions {
  /** `performance.now()` after which the call fails (default: {@link SQLITE_BUSY_DEADLINE} from now). */
  deadline?: number;
  /** Ends the wait early: the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called right before every try (a heartbeat notes when the statement that committed was sent). */
  onAttempt?(): void;
  /** Goes before the other writes waiting for their turn (heartbeats: a session must not starve). */
  urgent?: boolean;
}

/** How long a busy write queue runs back to back before it lets the event loop turn (timers, I/O), in ms. */
export const YIELD_EVERY = 20;

/** A write waiting for its turn. */
interface Waiter {
  wake(): void;
}

/**
 * The writes of one connection, one at a time: SQLite has one writer per file and rollcall one connection
 * per file and process, so nothing is lost by ordering them here rather than in the pool — and while the
 * database is locked only the write whose turn it is tries it again (after each pause); the others wait
 * without spending anything. Heartbeats (`urgent`) go before the other writes waiting.
 */
export class WriteQueue {
  private readonly urgent: Waiter[] = [];
  private readonly queued: Waiter[] = [];
  private running = false;
  /** Whether the last try found the database locked. */
  private locked = false;
  private pause = FIRST_PAUSE;
  /** When the queue last let the event loop turn (see {@link handOn}). */
  private lastYield = performance.now();

  /**
   * Runs `attempt` (a whole statement or transaction) once it is this write's turn, and again after a
   * pause for as long as it fails with `SQLITE_BUSY` / `SQLITE_LOCKED`, without blocking the event loop.
   * Rejects with the last busy error, saying how long it waited, once the deadline passes.
   */
  async run<T>(attempt: () => Promise<T>, options: BusyOptions = {}): Promise<T> {
    const started = performance.now();
    const deadline = options.deadline ?? started + SQLITE_BUSY_DEADLINE;
    await this.turn(options.urgent === true, deadline, started, options.signal);
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        options.onAttempt?.();
        try {
          const result = await attempt();
          this.unlocked();
          return result;
        } catch (error) {
          if (!isBusy(error)) {
            // It got past the lock (or the connection is gone).
            this.unlocked();
            throw error;
          }
          this.locked = true;
          const pause = this.nextPause();
          if (performance.now() + pause > deadline) throw gaveUp(error, started);
          await sleep(pause, options.signal);
        }
      }
    } finally {
      this.handOn();
    }
  }

  private unlocked(): void {
    this.locked = false;
    this.pause = FIRST_PAUSE;
  }

  private nextPause(): number {
    const pause = this.pause;
    this.pause = Math.min(MAX_PAUSE, pause * 2);
    // Jitter, so that the processes waiting for one lock do not probe it in step.
    return pause * (0.5 + Math.random() / 2);
  }

  /** Resolves when it is this write's turn; rejects at `deadline` or when `signal` aborts. */
  private turn(
    urgent: boolean,
    deadline: number,
    started: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!this.running && this.urgent.length === 0 && this.queued.length === 0) {
      this.running = true;
      return Promise.resolve();
    }
    const queue = urgent ? this.urgent : this.queued;
    return new Promise((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = queue.indexOf(waiter);
        if (i !== -1) queue.splice(i, 1);
      };
      const waiter: Waiter = {
        wake: () => {
          leave();
          resolve();
        },
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason);
      };
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(
        () => {
          leave();
          reject(
            this.locked
              ? gaveUp(undefined, started)
              : new Error(`a write waited ${Math.round(performance.now() - started)} ms for its turn`),
          );
        },
        Math.max(0, deadline - performance.now()),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /**
   * The write whose turn it was is done: the next one (heartbeats first) runs — after a turn of the event
   * loop once the queue has run back to back for {@link YIELD_EVERY} ms. better-sqlite3 answers
   * synchronously, so a queue that never empties would otherwise hand on from promise to promise forever
   * and no timer would fire: 50 coordinators churning in one process starved their own heartbeats until
   * their sessions expired.
   */
  private handOn(): void {
    if (performance.now() - this.lastYield < YIELD_EVERY) {
      this.wakeNext();
      return;
    }
    setImmediate(() => {
      this.lastYield = performance.now();
      this.wakeNext();
    });
  }

  private wakeNext(): void {
    const next = this.urgent[0] ?? this.queued[0];
    if (next === undefined) this.running = false;
    else next.wake();
  }
}

/**
 * Runs a read until it gets past a transient lock. In WAL mode a reader does not need the write lock, so
 * this is for the rare moments SQLite still answers `SQLITE_BUSY` to one (recovery, a checkpoint
 * resetting the WAL); reads do not wait in the write queue.
 */
export async function retryRead<T>(attempt: () => Promise<T>, options: BusyOptions = {}): Promise<T> {
  const started = performance.now();
  const deadline = options.deadline ?? started + SQLITE_BUSY_DEADLINE;
  let pause = FIRST_PAUSE;
  for (;;) {
    options.signal?.throwIfAborted();
    options.onAttempt?.();
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      const wait = pause * (0.5 + Math.random() / 2);
      pause = Math.min(MAX_PAUSE, pause * 2);
      if (performance.now() + wait > deadline) throw gaveUp(error, started);
      await sleep(wait, options.signal);
    }
  }
}

const queues = new WeakMap<object, WriteQueue>();

/** The write queue of a connection pool (a knex instance): shared by every writer that uses it. */
export function writeQueue(pool: object): WriteQueue {
  let queue = queues.get(pool);
  if (queue === undefined) {
    queue = new WriteQueue();
    queues.set(pool, queue);
  }
  return queue;
}

/** The error a call fails with once its deadline passed: the last busy error, saying how long it waited. */
function gaveUp(last: unknown, started: number): Error {
  const waited = Math.round(performance.now() - started);
  const base = last instanceof Error ? last.message : "database is locked";
  const error = new Error(`${base} (another connection held the lock; gave up after ${waited} ms)`, {
    cause: last,
  });
  (error as Error & { code?: unknown }).code =
    (last as { code?: unknown } | undefined)?.code ?? "SQLITE_BUSY";
  return error;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
