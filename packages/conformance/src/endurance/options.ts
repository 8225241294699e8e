import type { ServerNode } from "@rollcall/servers";

/** Connections and object counts of the backend's server, as `@rollcall/servers`' `stats()` gives them. */
export interface EnduranceStats {
  /** Client connections the server holds. */
  connections: number;
  /** The server's own objects: keys, znodes, rows. */
  objects: number;
  /** Details that explain the numbers. */
  detail?: Record<string, number>;
}

/** A fault injected while the load runs; resolves once the server side is back. */
export interface Storm {
  /** Shown in the report, e.g. `"pause 500 ms"`. */
  name: string;
  run(): Promise<void>;
}

/** What a backend's `setup()` returns for the endurance suite. */
export interface EnduranceTarget {
  /** The base URL; the suite adds `namespace=` and `sessionTimeout=`. */
  url: string;
  /** The storms to run while the load runs (see {@link serverStorms}); none for memory. */
  storms?: Storm[];
  /** The server's connections and objects; sampled with the process. */
  stats?(): Promise<EnduranceStats>;
  /**
   * Upper bound on the server's objects during the run, from the backend's retention (e.g. a change log
   * kept for a minute): exceeding it fails the run. Without it, objects are reported only.
   */
  maxObjects?: number;
  /** Tears the server down. */
  close?(): Promise<void>;
}

/** The size of a run. */
export interface EnduranceProfile {
  /** How long the load runs, ms. */
  duration: number;
  /** Coordinators in the load process. */
  coordinators: number;
  /** Sampling interval, ms. */
  sampleEvery: number;
  /** Samples before this (ms) are warm-up: not used for slopes. */
  warmup: number;
  /** Largest accepted slope of the heap after GC, MB/min, after warm-up. */
  maxHeapSlope: number;
  /**
   * Storm cycle, ms. `0`: the target's storms run once, spread over the run after warm-up (the short
   * profile). Otherwise the storms run again every `stormCycle` ms from the end of warm-up, spread over
   * each cycle, and the first cycle is part of the warm-up for slopes: the first storm runs failure
   * paths (reconnects, error objects, compiled code, refilled pools) for the first time, so it may
   * raise the heap once; a leak per storm raises it again in every later cycle and shows as a slope.
   */
  stormCycle: number;
}

/** Options of {@link runEndurance} and {@link soak}. */
export interface EnduranceOptions {
  /** Shown in the suite name and the report. */
  name: string;
  /** Starts what the backend needs. */
  setup(): Promise<EnduranceTarget>;
  /** The session timeout the suite puts in the URL (default 2000). */
  sessionTimeout?: number;
  /** Modules the watcher process imports before connecting (default: resolved from the URL scheme). */
  modules?: string[];
  /** Overrides of the profile (default: the short one, or the long one with `ROLLCALL_SOAK_MINUTES`). */
  profile?: Partial<EnduranceProfile>;
  /**
   * Where the watcher runs: `"process"` for backends whose scope is one process (memory), else a child
   * process (default).
   */
  watcher?: "process" | "child";
  /** Progress lines as the run goes (default: to stderr). */
  log?(line: string): void;
}

/** A node a storm acts on. */
export type StormNode = Pick<ServerNode, "pause" | "resume" | "kill" | "start">;
