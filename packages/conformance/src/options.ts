/** A fault the backend's test can inject, for the kit's `faults` suite. */
export interface Fault {
  /** Injects the fault and returns once the server side is back (e.g. restarted). */
  run(): Promise<void>;
  /**
   * Whether sessions survive it (a ZooKeeper restart within the session timeout, a cluster node
   * loss): then the kit also asserts that no member is ever seen to leave and no session expires.
   * When false (a Redis restart without persistence), members must come back by re-joining.
   */
  preservesSessions: boolean;
}

/** In-process session controls for backends whose scope is `process` (no child processes to kill). */
export interface SessionControl {
  /** Expires the member's session on the server now (as a crash past the timeout would). */
  expire(memberId: string): void;
  /** Freezes the member's client as SIGSTOP would. */
  freeze(memberId: string): void;
  /** Thaws it as SIGCONT would. */
  thaw(memberId: string): void;
}

/** What a backend's `setup()` returns. */
export interface ConformanceTarget {
  /** The base URL; the kit adds `namespace=` (fresh per test) and `sessionTimeout=`. */
  url: string;
  /** Tears the server down. */
  close?(): Promise<void>;
  /** Faults for the `faults` suite. */
  faults?: { restartServer?: Fault; killNode?: Fault };
}

/** Timing of the backend under test, in ms. */
export interface ConformanceTiming {
  /** The session timeout the kit puts in the URL (default 2000). */
  sessionTimeout?: number;
  /**
   * Declared slack on top of the session timeout within which peers must see a crashed member leave
   * (default: one session timeout). Bounds are generous on purpose: measured numbers belong in READMEs.
   */
  detectionSlack?: number;
  /** How long to wait for an event that should arrive promptly (default 10 000). */
  eventTimeout?: number;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Shown in the suite names, e.g. `"zookeeper (3 nodes)"`. */
  name: string;
  /** Starts what the backend needs (once, before all suites) and says how to reach it. */
  setup(): Promise<ConformanceTarget>;
  /** Timing of the backend. */
  timing?: ConformanceTiming;
  /** Modules a member child process imports before connecting (default: resolved from the URL scheme). */
  modules?: string[];
  /** Session controls for `scope: "process"` backends. */
  sessionControl?: SessionControl;
  /**
   * Which faults `setup()`'s target provides; a `faults` suite is registered for each (vitest
   * registers tests before `setup()` runs, so they are named here).
   */
  faults?: ("restartServer" | "killNode")[];
  /** Calls per seed of the property-based hostile-input suite (default 200; memory runs 10,000). */
  fuzzRuns?: number;
}
