/** How big and how long each scenario is, for a full run or for `--quick`. */
export interface BenchSettings {
  mode: "full" | "quick";
  /**
   * The detection bound every backend (and tooz, and the tuned Nova heartbeat) is configured with:
   * the `sessionTimeout` in rollcall URLs, tooz's `timeout`/`membership_timeout`, Nova's `service_down_time`.
   */
  sessionTimeoutMs: number;
  notify: { repetitions: number; maxGapMs: number };
  /** `settleMs`: pause after the members joined, before the first kill. */
  detect: { rounds: number; membersPerRound: number; settleMs: number };
  failover: { candidates: number; resigns: number; kills: number };
  churn: { coordinators: number; rounds: number; durationMs: number };
  steady: {
    members: number;
    /** Client processes shape "per-member" spreads its one-session-per-member coordinators over. */
    processes: number;
    /** Sessions of shape "shared" (each joins members / sessions groups). */
    sharedSessions: number;
    shapes: ("per-member" | "shared")[];
    warmupMs: number;
    windowMs: number;
    sliceMs: number;
  };
  /**
   * One `rollcall serve` watching every group: the steady scenario's per-member members measured for
   * `windowMs` without it, then with it (after `warmupMs`), in slices of `sliceMs`; then the churn
   * scenario's load (`churn` above) while an event-stream client follows. `snapshotTimeoutMs`: how long
   * the client may take to hold every group.
   */
  serve: { windowMs: number; sliceMs: number; warmupMs: number; snapshotTimeoutMs: number };
  scale: {
    members: number;
    loaderSessions: number;
    snapshotRepetitions: number;
    membersCalls: number;
    isUpMs: number;
  };
  /**
   * Configuration stores (`coord.config(name)`). *Notify*: `sets` writes of one key, each after a random
   * pause of up to `maxGapMs`, each timed to a watcher in another process. *CAS*: `casWriters`
   * coordinators spread over `casProcesses` processes increment one key with read + set(ifVersion) for
   * `casDurationMs`. *Snapshot*: `keys` entries written by `loaderSessions` coordinators (`loadConcurrency`
   * writes in flight, at most `loadTimeoutMs`), then `snapshotRepetitions` new coordinators each take a new
   * watcher's first snapshot and an `entries()`.
   */
  config: {
    sets: number;
    maxGapMs: number;
    casProcesses: number;
    casWriters: number;
    casDurationMs: number;
    keys: number;
    loaderSessions: number;
    loadConcurrency: number;
    loadTimeoutMs: number;
    snapshotRepetitions: number;
  };
  /**
   * The reactor (`coord.reactor()`), with two reactor processes (one acting, one standing by) and a
   * `ballast` of live members in one process that is never killed (so the kills stay below the
   * mass-failure brake's fraction). *Kill*: `rounds` × `membersPerRound` member processes, each SIGKILLed at
   * a random moment within one session timeout after `settleMs`, to the acting reactor's handler — under the
   * default options and with `brake: false, grace: 0`, two reactors on the same group. *Failover*: `failovers`
   * trials, each a member killed, then the acting reactor SIGKILLed while that departure is pending (it
   * waits a grace of `graceRatio` × the session timeout; the kill falls at a random moment within one session
   * timeout of the departure being stored, so `graceRatio` must be at least 2), to the standby taking over
   * (and, beside it, to the standby's handler, which waits out the rest of the grace).
   */
  reactor: {
    rounds: number;
    membersPerRound: number;
    ballast: number;
    settleMs: number;
    failovers: number;
    graceRatio: number;
  };
  nova: {
    defaults: NovaSettings;
    tuned: NovaSettings;
    /** Whether to measure the steady cost at Nova's defaults (10 s reports need a long window). */
    defaultsSteady: boolean;
    /** Services killed at once to measure detection at Nova's defaults (0: computed bound only). */
    defaultsDetectServices: number;
    tunedDetectServices: number;
    /** Client processes the 1,000 services' heartbeats come from. */
    processes: number;
  };
  /**
   * A member (and, in the leader variant, a leader) runs in a network lab host whose link is cut, then
   * healed. `holdRatio`: the longest a cut lasts, as a multiple of the session timeout (it ends sooner
   * once everything measured was seen); `settleMs`: pause after joining or being elected, before the
   * cut, which then falls at a random moment within one session timeout.
   */
  partition: { repetitions: number; leaderRepetitions: number; holdRatio: number; settleMs: number };
  tooz: {
    intervalMs: number;
    /** Backends tooz runs on (of those it has a driver for). */
    backends: ("zookeeper" | "etcd" | "redis")[];
  };
  /** Upper bound of any one scenario on one subject. */
  scenarioTimeoutMs: number;
}

/** The Nova DB servicegroup driver's two knobs (and how often the consumer looks). */
export interface NovaSettings {
  label: string;
  reportIntervalMs: number;
  serviceDownTimeMs: number;
  /** How often the consumer re-reads the table and decides up/down. */
  pollMs: number;
}

const TIMEOUT = 4000;
const QUICK_TIMEOUT = 2000;

/** Nova's heartbeat tuned to a detection bound, with rollcall's SQL ratios (heartbeat ⅓, poll ¼ of it). */
function novaTuned(bound: number): NovaSettings {
  return {
    label: `tuned to ${bound / 1000} s`,
    reportIntervalMs: Math.round(bound / 3),
    serviceDownTimeMs: bound,
    pollMs: Math.round(bound / 4),
  };
}

const NOVA_DEFAULTS: NovaSettings = {
  label: "Nova defaults",
  reportIntervalMs: 10_000,
  serviceDownTimeMs: 60_000,
  pollMs: 10_000,
};

/** The full run (`pnpm bench`). */
export const FULL: BenchSettings = {
  mode: "full",
  sessionTimeoutMs: TIMEOUT,
  notify: { repetitions: 30, maxGapMs: 200 },
  detect: { rounds: 2, membersPerRound: 6, settleMs: TIMEOUT / 2 },
  failover: { candidates: 3, resigns: 10, kills: 5 },
  churn: { coordinators: 50, rounds: 3, durationMs: 8000 },
  steady: {
    members: 1000,
    processes: 10,
    sharedSessions: 100,
    shapes: ["per-member", "shared"],
    warmupMs: 2 * TIMEOUT,
    windowMs: 60_000,
    sliceMs: 10_000,
  },
  serve: { windowMs: 30_000, sliceMs: 10_000, warmupMs: 2 * TIMEOUT, snapshotTimeoutMs: 120_000 },
  scale: { members: 10_000, loaderSessions: 20, snapshotRepetitions: 5, membersCalls: 20, isUpMs: 1000 },
  config: {
    sets: 200,
    maxGapMs: 50,
    casProcesses: 10,
    casWriters: 10,
    casDurationMs: 10_000,
    keys: 10_000,
    loaderSessions: 4,
    loadConcurrency: 32,
    loadTimeoutMs: 150_000,
    snapshotRepetitions: 5,
  },
  reactor: { rounds: 2, membersPerRound: 4, ballast: 8, settleMs: TIMEOUT / 2, failovers: 5, graceRatio: 2 },
  nova: {
    defaults: NOVA_DEFAULTS,
    tuned: novaTuned(TIMEOUT),
    defaultsSteady: true,
    defaultsDetectServices: 3,
    tunedDetectServices: 6,
    processes: 10,
  },
  partition: { repetitions: 6, leaderRepetitions: 6, holdRatio: 3, settleMs: TIMEOUT / 2 },
  tooz: { intervalMs: 1000, backends: ["zookeeper", "etcd", "redis"] },
  scenarioTimeoutMs: 6 * 60_000,
};

/**
 * The reduced set (`pnpm bench:quick`, a few minutes): every scenario on every backend, smaller,
 * shorter and with a 2 s bound; tooz only on ZooKeeper; Nova's defaults only as a computed bound.
 */
export const QUICK: BenchSettings = {
  mode: "quick",
  sessionTimeoutMs: QUICK_TIMEOUT,
  notify: { repetitions: 3, maxGapMs: 100 },
  detect: { rounds: 1, membersPerRound: 2, settleMs: 300 },
  failover: { candidates: 2, resigns: 2, kills: 1 },
  churn: { coordinators: 50, rounds: 1, durationMs: 1500 },
  steady: {
    members: 100,
    processes: 2,
    sharedSessions: 10,
    shapes: ["per-member"],
    warmupMs: 500,
    windowMs: 2000,
    sliceMs: 1000,
  },
  serve: { windowMs: 2000, sliceMs: 1000, warmupMs: 500, snapshotTimeoutMs: 30_000 },
  scale: { members: 1000, loaderSessions: 2, snapshotRepetitions: 2, membersCalls: 5, isUpMs: 200 },
  config: {
    sets: 30,
    maxGapMs: 50,
    casProcesses: 2,
    casWriters: 10,
    casDurationMs: 2000,
    keys: 1000,
    loaderSessions: 2,
    loadConcurrency: 16,
    loadTimeoutMs: 30_000,
    snapshotRepetitions: 2,
  },
  reactor: { rounds: 1, membersPerRound: 2, ballast: 4, settleMs: 300, failovers: 2, graceRatio: 2 },
  nova: {
    defaults: NOVA_DEFAULTS,
    tuned: novaTuned(QUICK_TIMEOUT),
    defaultsSteady: false,
    defaultsDetectServices: 0,
    tunedDetectServices: 2,
    processes: 2,
  },
  partition: { repetitions: 2, leaderRepetitions: 2, holdRatio: 3, settleMs: 300 },
  tooz: { intervalMs: 1000, backends: ["zookeeper"] },
  scenarioTimeoutMs: 90_000,
};
