import type { Agent } from "../agents/agent.js";
import {
  type ConfigCasResult,
  type ConfigGetResult,
  type ConfigScaleResult,
  type ConfigSetsResult,
  NOT_SUPPORTED,
} from "../agents/config-protocol.js";
import { mapLimit } from "../agents/limit.js";
import { now, randomId } from "../clock.js";
import type { Subject } from "../subjects.js";
import { casVerdict, matchNotify } from "./config-checks.js";
import { addSample, type ScenarioContext, SkippedError } from "./scenario.js";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The key the notify part writes, and the counter the CAS part increments. */
const NOTIFY_KEY = "scheduler/max_attempts";
const COUNTER_KEY = "reactor/counter";

/**
 * config: configuration stores (`coord.config(name)`), in three parts, each in a store of its own in a
 * fresh namespace; a part that fails is recorded (`<part>.error`) and the others still run.
 *
 * - notify: a writer process sets one key again and again (random pauses); a watcher in another process
 *   reports each `put`. Latency = the watcher's receipt − the moment the writer called `set()`.
 * - cas: writers in several processes increment one counter for a fixed time (read, then
 *   `set(…, { ifVersion })`); successful and refused compare-and-sets per second, and whether the
 *   counter ends equal to the successes, every value won once.
 * - snapshot: thousands of entries written, then new coordinators each take a new watcher's first
 *   snapshot and an `entries()`.
 *
 * A backend that still has no configuration store (`characteristics.config: "none"`) is recorded as skipped.
 */
export async function config(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { result } = ctx;
  const url = subject.url(`bench-config-${randomId()}`);
  if (subject.backend === "memory")
    result.notes.push(
      "memory:// is in-process: the watcher, the writers and the loader are agents inside the harness's process",
    );
  const parts: [string, () => Promise<void>][] = [
    ["notify", () => notifyPart(subject, url, ctx)],
    ["cas", () => casPart(subject, url, ctx)],
    ["snapshot", () => snapshotPart(subject, url, ctx)],
  ];
  const failures: unknown[] = [];
  for (const [name, run] of parts) {
    try {
      await run();
    } catch (error) {
      const text = message(error);
      const at = text.indexOf(`${NOT_SUPPORTED}: `);
      if (at !== -1) throw new SkippedError(text.slice(at + NOT_SUPPORTED.length + 2));
      result.values[`${name}.error`] = text.split("\n")[0] ?? text;
      result.notes.push(`${name} failed: ${text}`);
      failures.push(error);
    }
  }
  if (failures.length === parts.length) throw failures[0];
}

async function notifyPart(subject: Subject, url: string, ctx: ScenarioContext): Promise<void> {
  const { scope, result } = ctx;
  const c = ctx.settings.config;
  const [watcher, writer] = await Promise.all([
    scope.spawn(subject, "config-watcher"),
    scope.spawn(subject, "config-writer"),
  ]);
  try {
    await watcher.request("connect", { url, memberIds: ["watcher"] });
    await writer.request("connect", { url, memberIds: ["writer"] });
    await watcher.request("configWatch", { memberId: "watcher", store: "notify" });
    const mark = watcher.events.length;
    ctx.step(`notify: ${c.sets} sets of one key, up to ${c.maxGapMs} ms apart, each to a watcher`);
    const { sets } = await writer.request<ConfigSetsResult>(
      "configSets",
      { memberId: "writer", store: "notify", key: NOTIFY_KEY, count: c.sets, maxGapMs: c.maxGapMs },
      c.sets * (c.maxGapMs + 2000) + 30_000,
    );
    const waitMs = 3 * subject.sessionTimeoutMs + 10_000;
    const last = sets[sets.length - 1];
    // Events arrive in commit order: once the last write is in, every earlier one should be too.
    if (last)
      await watcher.events
        .waitFor((e) => isPut(e) && e.version === last[0], waitMs, mark)
        .catch(() => undefined);
    const puts = watcher.events.filter(isPut, mark);
    const match = matchNotify(
      sets,
      puts.map((e) => ({ version: String(e.version), at: e.at })),
    );
    for (const ms of match.latencies) addSample(result, "notifyMs", ms);
    for (const [, startedAt, endedAt] of sets) addSample(result, "setMs", endedAt - startedAt);
    result.values["notify.sets"] = sets.length;
    result.values["notify.missing"] = match.missing;
    result.values["notify.outOfOrder"] = match.outOfOrder;
    result.values["notify.resyncs"] = puts.filter((e) => e.resync === true).length;
    if (match.missing > 0)
      result.notes.push(
        `the watcher never reported ${match.missing} of ${sets.length} sets within ${waitMs} ms`,
      );
    if (match.outOfOrder > 0)
      result.notes.push(`${match.outOfOrder} watch events carried a version not above the one before`);
  } finally {
    await Promise.all([scope.close(watcher), scope.close(writer)]);
  }
}

function isPut(e: { event: string; type?: unknown }): boolean {
  return e.event === "config" && e.type === "put";
}

async function casPart(subject: Subject, url: string, ctx: ScenarioContext): Promise<void> {
  const { scope, result } = ctx;
  const c = ctx.settings.config;
  const processes = Math.max(1, Math.min(c.casProcesses, c.casWriters));
  const ids: string[][] = Array.from({ length: processes }, () => []);
  for (let w = 0; w < c.casWriters; w++) ids[w % processes]?.push(`writer-${w + 1}`);
  ctx.step(`cas: starting ${c.casWriters} writers in ${processes} processes`);
  const agents: Agent[] = [];
  try {
    await mapLimit(ids, 4, async (_, p) => {
      agents[p] = await scope.spawn(subject, `config-cas-${p + 1}`);
    });
    await mapLimit(agents, 4, (agent, p) => agent.request("connect", { url, memberIds: ids[p] }, 120_000));
    const first = agents[0] as Agent;
    const firstId = ids[0]?.[0] as string;
    await first.request("configSet", { memberId: firstId, store: "cas", key: COUNTER_KEY, value: 0 });
    ctx.step(`cas: ${c.casWriters} writers increment one key for ${c.casDurationMs} ms`);
    const startAt = now() + 500;
    const runs = await Promise.all(
      agents.map((agent, p) =>
        agent.request<ConfigCasResult>(
          "configCas",
          { memberIds: ids[p], store: "cas", key: COUNTER_KEY, startAt, durationMs: c.casDurationMs },
          c.casDurationMs + 120_000,
        ),
      ),
    );
    const final = await first.request<ConfigGetResult>("configGet", {
      memberId: firstId,
      store: "cas",
      key: COUNTER_KEY,
    });
    const finalValue = typeof final.value === "number" ? final.value : Number.NaN;
    const verdict = casVerdict(
      runs.flatMap((r) => r.written),
      0,
      finalValue,
    );
    const seconds = (Math.max(...runs.map((r) => r.endedAt)) - startAt) / 1000;
    const conflicts = runs.reduce((n, r) => n + r.conflicts, 0);
    const errors = runs.reduce((n, r) => n + r.errors, 0);
    const wins = runs.flatMap((r) => r.written.map((w) => w.length));
    Object.assign(result.values, {
      "cas.writers": c.casWriters,
      "cas.processes": processes,
      "cas.seconds": seconds,
      "cas.successes": verdict.successes,
      "cas.conflicts": conflicts,
      "cas.errors": errors,
      "cas.successesPerSecond": verdict.successes / seconds,
      "cas.conflictsPerSecond": conflicts / seconds,
      "cas.final": Number.isFinite(finalValue) ? finalValue : String(final.value),
      "cas.correct": verdict.correct,
      "cas.duplicates": verdict.duplicates,
      "cas.missing": verdict.missing,
      "cas.fewestWins": Math.min(...wins),
      "cas.mostWins": Math.max(...wins),
    });
    if (subject.backend === "memory" && conflicts === 0)
      result.notes.push(
        "cas: memory:// answers a read and its set within one turn of the event loop, so its writers take turns and never conflict",
      );
    const firstError = runs.find((r) => r.firstError)?.firstError;
    if (firstError) result.notes.push(`cas: ${errors} errors, the first: ${firstError}`);
    if (!verdict.correct) {
      result.notes.push(
        `cas: **the counter is wrong**: final ${String(final.value)} after ${verdict.successes} successful compare-and-sets ` +
          `(${verdict.duplicates} values won twice, ${verdict.missing} never won)`,
      );
    }
  } finally {
    await mapLimit(
      agents.filter((agent) => agent !== undefined),
      16,
      (agent) => scope.close(agent),
    );
  }
}

async function snapshotPart(subject: Subject, url: string, ctx: ScenarioContext): Promise<void> {
  const { scope, result } = ctx;
  const c = ctx.settings.config;
  const agent = await scope.spawn(subject, "config-snapshot");
  try {
    ctx.step(`snapshot: writing ${c.keys} entries, then ${c.snapshotRepetitions} new watchers and entries()`);
    const r = await agent.request<ConfigScaleResult>(
      "configScale",
      {
        url,
        store: "snapshot",
        keys: c.keys,
        loaderSessions: c.loaderSessions,
        loadConcurrency: c.loadConcurrency,
        loadTimeoutMs: c.loadTimeoutMs,
        repetitions: c.snapshotRepetitions,
      },
      c.loadTimeoutMs + 120_000,
    );
    result.values["snapshot.keys"] = c.keys;
    result.values["snapshot.loadMs"] = r.loadMs;
    for (const ms of r.snapshotMs) addSample(result, "snapshotMs", ms);
    for (const ms of r.entriesMs) addSample(result, "entriesMs", ms);
    const wrong = [...r.snapshotSizes, ...r.entriesSizes].filter((n) => n !== c.keys);
    if (wrong.length > 0) {
      result.notes.push(
        `snapshot sizes ${r.snapshotSizes.join(", ")} and entries() sizes ${r.entriesSizes.join(", ")} instead of ${c.keys}`,
      );
    }
  } finally {
    await scope.close(agent);
  }
}
