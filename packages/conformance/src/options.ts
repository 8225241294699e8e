import type { NetworkLab } from "@rollcall/servers";
import type { ClusterSpec, ServerSpec } from "./server-target.js";

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
  /**
   * Cuts the member's client off from the server while it keeps running, as a network partition would:
   * its renewals go unanswered (the driver must report `suspended` itself and no further `renewed()`), and
   * nothing the server sends reaches it until {@link SessionControl.reconnect}. With it (and `reconnect`)
   * the stall checks run in-process: a watcher cut off for less than its timeout, driver-reported
   * suspension, and no renewal reported that the server did not acknowledge.
   */
  disconnect?(memberId: string): void;
  /** Ends {@link SessionControl.disconnect}: what the server sent meanwhile is delivered, or the session is reported expired. */
  reconnect?(memberId: string): void;
}

/**
 * What the kit asks of `setup()`. Without options (every suite but `partition`), the server listens on
 * 127.0.0.1 as usual.
 */
export interface SetupOptions {
  /**
   * For the `partition` suite: the network lab the test hosts live in. The server must listen on
   * `lab.gateway` (the `host` option of every `@rollcall/servers` start function) and the URL must name
   * that address, so member processes running in the lab's hosts can reach it over their links.
   * A cluster backend starts its nodes in hosts of their own (the `lab` option of `startZooKeeper` and
   * `startEtcd`) and returns a `partitionNode` fault.
   */
  lab?: NetworkLab;
  /**
   * For the `security` suite: start a server of its own that requires authentication (and TLS where the
   * backend has it), and return {@link ConformanceTarget.security}.
   */
  secure?: boolean;
}

/**
 * Credentials for the `security` suite: a URL that authenticates (password, token, client
 * certificate…), the secrets it carries, and URLs that must be refused.
 */
export interface SecurityTarget {
  /** A URL that connects with credentials; the kit adds `namespace=` and `sessionTimeout=`. */
  url: string;
  /**
   * Every secret that must never appear in a log line, error, `toString()`, `inspect()` or JSON of a
   * public object: passwords, tokens, private-key contents.
   */
  secrets: string[];
  /** URLs with wrong credentials; each must fail with a `CONNECTION` error naming the host, not the secret. */
  refused: { why: string; url: string }[];
  /**
   * Names of environment variables the backend reads secrets from, if any (they are set for the run,
   * besides `ROLLCALL_URL`, which the kit sets to `url`; their values count as secrets).
   */
  env?: Record<string, string>;
}

/** What a backend's `setup()` returns. */
export interface ConformanceTarget {
  /** The base URL; the kit adds `namespace=` (fresh per test) and `sessionTimeout=`. */
  url: string;
  /** Tears the server down. */
  close?(): Promise<void>;
  /** Faults for the `faults` suite. */
  faults?: { restartServer?: Fault; killNode?: Fault; partitionNode?: Fault };
  /** Credentials for the `security` suite: returned when `setup({ secure: true })` was asked. */
  security?: SecurityTarget;
  /**
   * For the stall checks (with {@link ConformanceOptions.stall}): stalls the server for every client — it
   * stops answering (writes at least) without closing anything, as an SQLite file whose write lock another
   * process holds, or a server stopped with SIGSTOP — and resolves once the stall is in effect, with `end()`
   * to lift it. It must not depend on the test process's event loop meanwhile (the kit keeps none of its
   * own connections open during a stall, but a driver whose client blocks the thread while it waits would
   * otherwise deadlock the test).
   */
  stall?(): Promise<{ end(): Promise<unknown> }>;
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
  /**
   * A single-node server from `@rollcall/servers`, with its secure variant and restart fault: the kit
   * builds `setup()` from it and registers the `restartServer` fault (with `restart`), the partition suite
   * (unless `partition: false`) and the security suite (with `secure`). Give one of `server`, `cluster`
   * and `setup`.
   */
  server?: ServerSpec;
  /**
   * A cluster from `@rollcall/servers`, its nodes in a network lab where one can be created: the kit builds
   * `setup()` from it and registers the `killNode` and `partitionNode` faults it names.
   */
  cluster?: ClusterSpec;
  /**
   * Starts what the backend needs (once, before all suites) and says how to reach it — for targets that are
   * not a `@rollcall/servers` server (an embedded file, an in-process store). Give one of `server`,
   * `cluster` and `setup`.
   */
  setup?(options?: SetupOptions): Promise<ConformanceTarget>;
  /** Timing of the backend. */
  timing?: ConformanceTiming;
  /**
   * Modules a member child process imports before connecting (default: core's own package for the URL
   * scheme). A bare package name is resolved from the kit's folder, so a backend outside this repository
   * gives a file URL (`new URL("../dist/index.js", import.meta.url).href`).
   */
  modules?: string[];
  /** Session controls for `scope: "process"` backends. */
  sessionControl?: SessionControl;
  /**
   * Which faults `setup()`'s target provides; a `faults` suite is registered for each (vitest
   * registers tests before `setup()` runs, so they are named here). Derived from `server` / `cluster`.
   */
  faults?: ("restartServer" | "killNode" | "partitionNode")[];
  /**
   * Register the `partition` suite: it creates a network lab (Linux network namespaces; needs root),
   * calls `setup({ lab })` for a server of its own on the lab's gateway, and runs members in lab hosts
   * whose links it cuts. Where namespaces cannot be created, the suite says so and why (one failing
   * test naming the reason with `ROLLCALL_REQUIRE_PARTITION=1`, otherwise skipped with the reason
   * in its name). `scope: "process"` backends (memory) have no network to cut. On by default with `server`.
   */
  partition?: boolean;
  /**
   * Register the `security` suite: it calls `setup({ secure: true })`, which must return
   * {@link ConformanceTarget.security}. On when `server.secure` is given.
   */
  security?: boolean;
  /** Calls per seed of the property-based hostile-input suite (default 200; memory runs 10,000). */
  fuzzRuns?: number;
  /**
   * `setup()`'s target provides {@link ConformanceTarget.stall}: run the suspension and renewal checks with
   * it (named here because vitest registers tests before `setup()` runs). Backends with a network run them
   * in the `partition` suite (a link cut) instead; `scope: "process"` backends with
   * {@link SessionControl.disconnect}.
   */
  stall?: boolean;
}
