/** A message an agent sends on its own: a watch event, an election, a failure. */
export interface AgentEvent {
  /** Kind: `watch`, `elected`, `deposed`, `down`, `up`, `error`, … */
  event: string;
  /** When it happened, on the host's wall clock in ms (see `now()`). */
  at: number;
  [field: string]: unknown;
}

interface Waiter {
  predicate: (event: AgentEvent) => boolean;
  resolve: (event: AgentEvent) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Everything an agent reported, in order, with waits for the next matching event. */
export class EventLog {
  readonly events: AgentEvent[] = [];
  private readonly waiters = new Set<Waiter>();
  private closedWith: Error | undefined;

  /** Appends an event and wakes the waiters it matches. */
  push(event: AgentEvent): void {
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(event)) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  }

  /** Number of events so far: pass it as `from` to wait only for later ones. */
  get length(): number {
    return this.events.length;
  }

  /** The events from index `from` on that match. */
  filter(predicate: (event: AgentEvent) => boolean, from = 0): AgentEvent[] {
    return this.events.slice(from).filter(predicate);
  }

  /**
   * The first event at index `from` or later that matches, waiting up to `timeoutMs` for it.
   * Rejects on timeout or when the agent is gone.
   */
  waitFor(predicate: (event: AgentEvent) => boolean, timeoutMs: number, from = 0): Promise<AgentEvent> {
    const found = this.events.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Rejects every current and future wait (the agent is gone). */
  close(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }
}
