import { execFileSync } from "node:child_process";
import { createNetworkLab, type NetworkLab, networkLabUnavailable } from "@rollcall/servers";
import type { BackendName, BenchArgs } from "./args.js";
import type { RunningBackend } from "./backends/backend-spec.js";
import { BACKEND_SPECS } from "./backends/backends.js";
import { DEBIAN_PYTHON } from "./paths.js";
import { type Job, planJobs, subjectId } from "./plan.js";
import type { Progress } from "./progress.js";
import type { ScenarioResult } from "./results.js";
import { churn } from "./scenarios/churn.js";
import { config } from "./scenarios/config.js";
import { detect } from "./scenarios/detect.js";
import { failover } from "./scenarios/failover.js";
import { notify } from "./scenarios/notify.js";
import { novaDetect } from "./scenarios/nova-detect.js";
import { novaSteady } from "./scenarios/nova-steady.js";
import { partitionLeader, partitionMember } from "./scenarios/partition.js";
import { reactor } from "./scenarios/reactor.js";
import { scale } from "./scenarios/scale.js";
import { type ScenarioContext, SkippedError, UnsupportedError } from "./scenarios/scenario.js";
import { Scope } from "./scenarios/scope.js";
import { serve } from "./scenarios/serve.js";
import { steady } from "./scenarios/steady.js";
import type { BenchSettings } from "./settings.js";
import { etcd3Subject, rollcallSubject, type SessionHooks, type Subject, toozSubject } from "./subjects.js";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Python modules each tooz driver needs. */
const TOOZ_MODULES: Partial<Record<BackendName, string>> = {
  zookeeper: "kazoo",
  etcd: "etcd3",
  redis: "redis",
};

/** Why tooz cannot run on a backend here, or undefined when it can. */
function toozUnavailable(backend: BackendName): string | undefined {
  const module = TOOZ_MODULES[backend];
  if (!module) return "tooz has no driver with group membership for this backend";
  try {
    execFileSync(DEBIAN_PYTHON, ["-c", `import tooz.coordination, ${module}`], { stdio: "pipe" });
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "")
      .trim()
      .split("\n")
      .pop();
    return `${DEBIAN_PYTHON} cannot import tooz and ${module} (${stderr ?? message(error)}): install python3-tooz`;
  }
}

function skeleton(job: Job, settings: BenchSettings): ScenarioResult {
  const result: ScenarioResult = {
    subject: subjectId(job),
    kind: job.kind,
    backend: job.backend,
    scenario: job.scenario,
    status: "ok",
    notes: [],
    settings: { sessionTimeoutMs: job.nova?.serviceDownTimeMs ?? settings.sessionTimeoutMs },
    samples: {},
    values: {},
    startedAt: new Date().toISOString(),
    durationMs: 0,
  };
  if (job.variant !== undefined) result.variant = job.variant;
  return result;
}

/** Runs one job with its own scope and time bound; never throws. */
async function runJob(
  job: Job,
  settings: BenchSettings,
  progress: Progress,
  lab: NetworkLab | undefined,
  run: (ctx: ScenarioContext) => Promise<void>,
): Promise<ScenarioResult> {
  const result = skeleton(job, settings);
  const scope = new Scope();
  const label = job.variant ? `${job.scenario} (${job.variant})` : job.scenario;
  const ctx: ScenarioContext = {
    settings,
    scope,
    result,
    step: (text) => progress.step(result.subject, label, text),
    ...(lab ? { lab } : {}),
  };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${settings.scenarioTimeoutMs / 1000} s`)),
          settings.scenarioTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    result.status =
      error instanceof UnsupportedError
        ? "unsupported"
        : error instanceof SkippedError
          ? "skipped"
          : "failed";
    result.error = message(error);
    await scope.killAll();
  } finally {
    clearTimeout(timer);
  }
  await Promise.race([scope.closeAll(), new Promise((r) => setTimeout(r, 60_000).unref())]);
  await scope.killAll();
  // A partition the scenario did not get to heal (it failed or timed out) ends with it.
  await Promise.all((lab?.hosts ?? []).filter((h) => h.isCut).map((h) => h.heal().catch(() => {})));
  result.durationMs = performance.now() - started;
  progress.finished(
    result.subject,
    label,
    result.status === "ok"
      ? `done in ${(result.durationMs / 1000).toFixed(1)} s`
      : `${result.status}: ${result.error}`,
  );
  return result;
}

/** A result for a job that did not run: `failed` (its server or package did not come up) or `skipped`. */
function notRunResult(
  job: Job,
  settings: BenchSettings,
  error: string,
  progress: Progress,
  status: "failed" | "skipped" = "failed",
): ScenarioResult {
  const result = skeleton(job, settings);
  result.status = status;
  result.error = error;
  progress.finished(
    result.subject,
    job.variant ? `${job.scenario} (${job.variant})` : job.scenario,
    `${status}: ${error}`,
  );
  return result;
}

/** What {@link runAll} returns. */
export interface RunOutcome {
  results: ScenarioResult[];
  backendFailures: { backend: BackendName; error: string }[];
  servers: Record<string, string>;
}

/** Runs every planned job, backend by backend, each backend's server started once and stopped after. */
export async function runAll(
  args: BenchArgs,
  settings: BenchSettings,
  progress: Progress,
): Promise<RunOutcome> {
  const jobs = planJobs(args, settings);
  const outcome: RunOutcome = { results: [], backendFailures: [], servers: {} };
  for (const backendName of args.backends) {
    const mine = jobs.filter((j) => j.backend === backendName);
    const plain = mine.filter((j) => !j.lab);
    const inLab = mine.filter((j) => j.lab);
    if (plain.length > 0) await runOnServer(backendName, plain, settings, progress, outcome, undefined);
    if (inLab.length > 0) await runInLab(backendName, inLab, settings, progress, outcome);
  }
  return outcome;
}

/**
 * Runs jobs that cut hosts off the network: in a network lab of their own, on a server of their own that
 * listens on the lab's gateway (so lab hosts reach it). Skipped, with the reason, where labs cannot be made.
 */
async function runInLab(
  backendName: BackendName,
  jobs: Job[],
  settings: BenchSettings,
  progress: Progress,
  outcome: RunOutcome,
): Promise<void> {
  const reason = await networkLabUnavailable();
  if (reason !== undefined) {
    for (const job of jobs)
      outcome.results.push(notRunResult(job, settings, `no network lab: ${reason}`, progress, "skipped"));
    return;
  }
  let lab: NetworkLab;
  try {
    lab = await createNetworkLab();
  } catch (error) {
    for (const job of jobs)
      outcome.results.push(notRunResult(job, settings, `no network lab: ${message(error)}`, progress));
    return;
  }
  try {
    await runOnServer(backendName, jobs, settings, progress, outcome, lab);
  } finally {
    await lab.close().catch((error) => progress.info(`closing the network lab: ${message(error)}`));
  }
}

/** Starts a backend's server (on the lab's gateway, given a lab), runs the jobs on it and stops it. */
async function runOnServer(
  backendName: BackendName,
  mine: Job[],
  settings: BenchSettings,
  progress: Progress,
  outcome: RunOutcome,
  lab: NetworkLab | undefined,
): Promise<void> {
  const where = lab ? ` on ${lab.gateway} (network lab)` : "";
  progress.info(`── ${backendName}: starting the server${where}`);
  let running: RunningBackend;
  try {
    running = await BACKEND_SPECS[backendName].start({
      maxConnections: 2 * settings.steady.members + 300,
      ...(lab ? { host: lab.gateway } : {}),
    });
  } catch (error) {
    const text = `server did not start${where}: ${message(error)}`;
    outcome.backendFailures.push({ backend: backendName, error: text });
    for (const job of mine) outcome.results.push(notRunResult(job, settings, text, progress));
    return;
  }
  outcome.servers[backendName] ??= running.server;
  progress.info(`── ${backendName}: ${running.server}${where}`);
  let loadError: string | undefined;
  let hooks: SessionHooks | undefined;
  try {
    const loaded = (await import(running.module)) as { memorySessions?: SessionHooks };
    hooks = loaded.memorySessions;
  } catch (error) {
    loadError = `${running.module} failed to load: ${message(error)}`;
    outcome.backendFailures.push({ backend: backendName, error: loadError });
  }
  const rollcall = rollcallSubject(running, settings.sessionTimeoutMs, hooks);
  const tooz = toozSubject(running, settings.sessionTimeoutMs, settings.tooz.intervalMs);
  const etcd3 = etcd3Subject(running);
  const toozError = mine.some((j) => j.kind === "tooz") ? toozUnavailable(backendName) : undefined;
  try {
    for (const job of mine) {
      if (job.kind === "rollcall" && loadError) {
        outcome.results.push(notRunResult(job, settings, loadError, progress));
        continue;
      }
      if (job.kind === "tooz" && (toozError || !tooz)) {
        outcome.results.push(notRunResult(job, settings, toozError ?? "no tooz driver", progress));
        continue;
      }
      if (job.kind === "etcd3" && !etcd3) {
        outcome.results.push(notRunResult(job, settings, "no etcd endpoint for the etcd3 client", progress));
        continue;
      }
      const subject: Subject =
        job.kind === "tooz" ? (tooz as Subject) : job.kind === "etcd3" ? (etcd3 as Subject) : rollcall;
      outcome.results.push(
        await runJob(job, settings, progress, lab, (ctx) => dispatch(job, subject, running, ctx)),
      );
    }
  } finally {
    progress.info(`── ${backendName}: stopping the server`);
    await running.close().catch((error) => progress.info(`closing ${backendName}: ${message(error)}`));
  }
}

function dispatch(job: Job, subject: Subject, running: RunningBackend, ctx: ScenarioContext): Promise<void> {
  if (job.kind === "nova") {
    const nova = job.nova;
    if (!nova) throw new Error("a Nova job without settings");
    if (job.scenario === "detect") {
      const services =
        nova === ctx.settings.nova.defaults
          ? ctx.settings.nova.defaultsDetectServices
          : ctx.settings.nova.tunedDetectServices;
      return novaDetect(running, nova, services, ctx);
    }
    return novaSteady(running, nova, ctx);
  }
  ctx.result.settings.watch = subject.watchNote;
  ctx.result.settings.liveness = subject.livenessNote;
  if (job.kind === "tooz") ctx.result.settings.runWatchersIntervalMs = ctx.settings.tooz.intervalMs;
  switch (job.scenario) {
    case "notify":
      return notify(subject, ctx);
    case "detect":
      return detect(subject, ctx);
    case "failover":
      return failover(subject, ctx);
    case "churn":
      return churn(subject, ctx);
    case "steady":
      return steady(subject, running, job.shape ?? "per-member", ctx);
    case "scale":
      return scale(running, ctx);
    case "partition":
      return job.variant === "leader" ? partitionLeader(subject, ctx) : partitionMember(subject, ctx);
    case "serve":
      return serve(subject, running, ctx);
    case "config":
      return config(subject, ctx);
    case "reactor":
      return reactor(subject, ctx);
  }
}
