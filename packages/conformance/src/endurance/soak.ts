import { randomId, withParams } from "../harness.js";
import { ErrorTally } from "./error-tally.js";
import { Load } from "./load.js";
import type { EnduranceOptions, EnduranceProfile, EnduranceStats, EnduranceTarget } from "./options.js";
import { type ProcessSample, sampleProcess, slopePerMinute } from "./process-sampler.js";
import type { WatchTallyReport } from "./watch-tally.js";
import { ChildWatcher, LocalWatcher, type SoakWatcher } from "./watchers.js";

/** One sample: the load process, the server, and the throughput since the previous sample. */
export interface SoakSample extends ProcessSample {
  opsPerSecond: number;
  server?: EnduranceStats;
}

/** How one storm went. */
export interface StormReport {
  name: string;
  /** Seconds since the soak started. */
  at: number;
  /** How long the fault itself took, ms. */
  took: number;
  /**
   * Ms from the end of the fault until every coordinator completed a join/update/leave round and a
   * campaign and a lock succeeded again; undefined if that did not happen within the bound.
   */
  recovery: number | undefined;
  /** When it did not recover: what was still missing at the bound. */
  missing?: string;
}

/** Everything a soak measured. */
export interface SoakReport {
  name: string;
  profile: EnduranceProfile;
  sessionTimeout: number;
  /** Seconds the load ran. */
  seconds: number;
  /** Operations that succeeded, by operation. */
  ok: Record<string, number>;
  /** Sustained throughput: successful operations per second over the run. */
  opsPerSecond: number;
  /** Errors outside storms, by `operation:code`. */
  calmErrors: Record<string, number>;
  /** Errors during storms and their recovery, by `operation:code`. */
  stormErrors: Record<string, number>;
  untyped: string[];
  samples: SoakSample[];
  storms: StormReport[];
  /** Bound on a storm's recovery, ms. */
  recoveryBound: number;
  /** Seconds into the run where slopes start (warm-up, and the first storm cycle in long runs). */
  slopesFrom: number;
  /** Heap-after-GC and descriptor slopes after warm-up, per minute. */
  heapSlope: number | undefined;
  fdSlope: number | undefined;
  /** Descriptors before the load and after it closed. */
  fdsBefore: number;
  fdsAfter: number;
  /** Server connections before the load and after it (and the watcher) closed. */
  connectionsBefore: number | undefined;
  connectionsAfter: number | undefined;
  maxObjects: number | undefined;
  watcher: WatchTallyReport | undefined;
  /** `members()` at the end. */
  finalMembers: string[];
  /** Whether the view and the raw watch converged on `members()` at the end (ms it took), or why not. */
  converged: number | string;
  watcherDied: string | undefined;
}

/** The profile from defaults, the environment (`ROLLCALL_SOAK_MINUTES`, `ROLLCALL_SOAK_COORDINATORS`) and options. */
export function resolveProfile(overrides: Partial<EnduranceProfile> = {}): EnduranceProfile {
  const minutes = Number(process.env.ROLLCALL_SOAK_MINUTES ?? "");
  const coordinators = Number(process.env.ROLLCALL_SOAK_COORDINATORS ?? "");
  const long = Number.isFinite(minutes) && minutes > 0;
  const duration = long ? Math.round(minutes * 60_000) : (overrides.duration ?? 60_000);
  return {
    duration,
    coordinators:
      Number.isInteger(coordinators) && coordinators > 0 ? coordinators : (overrides.coordinators ?? 40),
    sampleEvery: overrides.sampleEvery ?? (duration >= 300_000 ? 30_000 : 5_000),
    warmup: overrides.warmup ?? Math.min(60_000, Math.round(duration / 3)),
    // A short run's 40 s window is the first minute of a process: JIT code, inline caches and client
    // pools still fill (etcd measured 2.19 MB/min in one CI run of a minute), so it judges
    // only leaks of a few MB/min, such as the ZooKeeper binding's retained watchers (7.2 MB/min at
    // this load). Slower leaks are the long profile's to catch.
    maxHeapSlope: overrides.maxHeapSlope ?? (duration >= 300_000 ? 0.2 : 4),
    stormCycle: overrides.stormCycle ?? (duration >= 300_000 ? 150_000 : 0),
  };
}

function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function statsOf(target: EnduranceTarget): Promise<EnduranceStats | undefined> {
  try {
    return await target.stats?.();
  } catch {
    return undefined;
  }
}

async function until(check: () => Promise<boolean> | boolean, timeout: number): Promise<number | undefined> {
  const started = performance.now();
  for (;;) {
    if (await check()) return Math.round(performance.now() - started);
    if (performance.now() - started > timeout) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Descriptors a process may keep after everything closed without leaking: lazily opened ones (libuv's
 * thread pool and signal pipes, a native client's wake-up pipe) that stay for the process's life.
 */
export const FD_SLACK = 10;

/**
 * When the target's storms run: once, spread over the run after warm-up (`stormCycle` 0), or in
 * cycles of `stormCycle` ms from the end of warm-up, each spread over its cycle; only whole cycles
 * that end within the run.
 */
export function stormSchedule<T>(
  storms: readonly T[],
  profile: EnduranceProfile,
  started: number,
): { storm: T; at: number }[] {
  const cycle = profile.stormCycle > 0 ? profile.stormCycle : profile.duration - profile.warmup;
  const cycles = Math.max(1, Math.floor((profile.duration - profile.warmup) / cycle));
  const out: { storm: T; at: number }[] = [];
  for (let c = 0; c < cycles; c++)
    storms.forEach((storm, i) => {
      out.push({ storm, at: started + profile.warmup + c * cycle + ((i + 1) * cycle) / (storms.length + 1) });
    });
  return out;
}

/** Where slopes start (ms into the run): after warm-up, and in cycles after the first storm cycle. */
export function slopesFrom(profile: EnduranceProfile, hasStorms: boolean): number {
  return profile.warmup + (hasStorms && profile.stormCycle > 0 ? profile.stormCycle : 0);
}

const sameIds = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Runs the endurance load against a target: N coordinators joining, updating, leaving, campaigning
 * and locking; a watcher holding a view and a raw watch; samples of the process and the server; the
 * target's storms spread over the run. Returns what it measured; {@link soakViolations} judges it.
 */
export async function soak(options: EnduranceOptions, target: EnduranceTarget): Promise<SoakReport> {
  const log = options.log ?? defaultLog;
  const profile = resolveProfile(options.profile);
  const sessionTimeout = options.sessionTimeout ?? 2000;
  const url = withParams(target.url, { namespace: randomId("soak"), sessionTimeout });
  const group = "soak";
  const scheme = url.slice(0, url.indexOf(":")); // not new URL(): a cluster's host list is no URL host
  const modules = options.modules ?? [];
  const tally = new ErrorTally();
  const started = performance.now();
  const fdsBefore = sampleProcess(started).fds;
  const connectionsBefore = (await statsOf(target))?.connections;
  log(`[${options.name}] soak ${profile.duration / 1000} s, ${profile.coordinators} coordinators, ${scheme}`);

  const watcherConfig = { url, memberId: randomId("soak-watcher"), group, modules };
  const watcher: SoakWatcher =
    options.watcher === "process"
      ? await LocalWatcher.start(watcherConfig)
      : await ChildWatcher.start(watcherConfig, 30_000);
  const load = new Load(
    {
      url,
      group,
      coordinators: profile.coordinators,
      electionEvery: 10,
      lockEvery: 10,
      waitBound: 10 * sessionTimeout,
      memberPrefix: randomId("soak"),
    },
    tally,
  );
  const recoveryBound = 10 * sessionTimeout + 10_000;
  const samples: SoakSample[] = [];
  const stormList = target.storms ?? [];
  const storms: StormReport[] = [];
  let finalMembers: string[] = [];
  let converged: number | string = "not checked";
  let report: WatchTallyReport | undefined;
  let fdsAfter = -1;
  let connectionsAfter: number | undefined;
  try {
    await load.start();
    let lastSuccesses = 0;
    let lastAt = performance.now();
    const sample = async () => {
      const now = performance.now();
      const successes = tally.successes;
      const server = await statsOf(target);
      const entry: SoakSample = {
        ...sampleProcess(started),
        opsPerSecond: Math.round(((successes - lastSuccesses) * 1000) / Math.max(1, now - lastAt)),
        ...(server ? { server } : {}),
      };
      lastSuccesses = successes;
      lastAt = now;
      samples.push(entry);
      log(
        `[${options.name}] ${entry.at}s ${entry.opsPerSecond} ops/s heap ${entry.heapMb} MB rss ${entry.rssMb} MB fds ${entry.fds} handles ${entry.handles}` +
          (server ? ` server conns ${server.connections} objects ${server.objects}` : ""),
      );
    };
    const sampler = setInterval(() => void sample(), profile.sampleEvery);
    try {
      for (const { storm, at } of stormSchedule(stormList, profile, started)) {
        await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
        tally.inStorm = true;
        const stormStart = performance.now();
        log(`[${options.name}] storm: ${storm.name}`);
        await storm.run();
        const stormEnd = performance.now();
        const recovery = await until(
          () =>
            load.lastRoundOf.every((t) => t > stormEnd) &&
            load.last.campaign > stormEnd &&
            load.last.lock > stormEnd,
          recoveryBound,
        );
        tally.inStorm = false;
        const behind = load.lastRoundOf.filter((t) => t <= stormEnd).length;
        const missing = [
          ...(behind > 0 ? [`${behind} coordinators without a round`] : []),
          ...(load.last.campaign <= stormEnd ? ["no campaign"] : []),
          ...(load.last.lock <= stormEnd ? ["no lock"] : []),
        ].join(", ");
        storms.push({
          name: storm.name,
          at: Math.round((stormStart - started) / 100) / 10,
          took: Math.round(stormEnd - stormStart),
          recovery,
          ...(recovery === undefined ? { missing } : {}),
        });
        log(
          `[${options.name}] storm ${storm.name}: ${recovery === undefined ? `no recovery within ${recoveryBound} ms (${missing})` : `recovered in ${recovery} ms`}`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.max(0, started + profile.duration - performance.now())));
    } finally {
      clearInterval(sampler);
    }
    await sample();
    await load.stop();
    const reader = load.reader;
    const convergedIn = await until(async () => {
      try {
        finalMembers = (await reader.members(group)).map((m) => m.id).sort();
        report = await watcher.report();
        return (
          sameIds(report.viewIds, finalMembers) &&
          sameIds(report.rawIds, finalMembers) &&
          report.rawCount === finalMembers.length
        );
      } catch {
        return false;
      }
    }, 15_000);
    converged =
      convergedIn ??
      `after 15 s: members() ${finalMembers.length}, view ${report?.viewIds.length}, raw ${report?.rawIds.length} (count ${report?.rawCount})`;
  } finally {
    await load.close();
    const died = watcher.died;
    await watcher.close();
    if (died === undefined) {
      fdsAfter = sampleProcess(started).fds;
      await until(async () => {
        connectionsAfter = (await statsOf(target))?.connections;
        fdsAfter = sampleProcess(started).fds;
        return (connectionsAfter ?? 0) <= (connectionsBefore ?? 0) && fdsAfter <= fdsBefore + FD_SLACK;
      }, 10_000);
    }
  }
  const from = slopesFrom(profile, stormList.length > 0);
  const measured = samples.filter((s) => s.at * 1000 >= from);
  const seconds = (performance.now() - started) / 1000;
  return {
    name: options.name,
    profile,
    sessionTimeout,
    seconds: Math.round(seconds),
    ok: tally.ok,
    opsPerSecond: Math.round(tally.successes / Math.max(1, profile.duration / 1000)),
    calmErrors: tally.calm,
    stormErrors: tally.storm,
    untyped: tally.untyped,
    samples,
    storms,
    recoveryBound,
    slopesFrom: Math.round(from / 1000),
    heapSlope: slopePerMinute(measured.map((s) => ({ x: s.at, y: s.heapMb }))),
    fdSlope: slopePerMinute(measured.map((s) => ({ x: s.at, y: s.fds }))),
    fdsBefore,
    fdsAfter,
    connectionsBefore,
    connectionsAfter,
    maxObjects: target.maxObjects,
    watcher: report,
    finalMembers,
    converged,
    watcherDied: watcher.died,
  };
}
