import { mapLimit } from "../agents/limit.js";
import { ServeProcess } from "../agents/serve-process.js";
import type { RunningBackend } from "../backends/backend-spec.js";
import { now, randomId, sleep } from "../clock.js";
import { TreeCpu } from "../proc-stat.js";
import { summarize } from "../report/stats.js";
import type { Subject } from "../subjects.js";
import type { ChurnRound } from "./churn.js";
import { measureCostWindow } from "./cost-window.js";
import { DashboardClient, type StreamArrival } from "./dashboard-client.js";
import { startIdleMembers } from "./idle-members.js";
import { addSample, type ScenarioContext, UnsupportedError } from "./scenario.js";

/** One join or leave a churner made: member id, type, seq, called at, returned at. */
type ChurnOp = [string, "join" | "leave", string, number, number];

/** A churn round with every operation it made (asked of the churners with `record`). */
interface RecordedChurnRound extends ChurnRound {
  ops: ChurnOp[];
}

/** At most this many raw lag samples go into the results file (evenly spread); the percentiles use all. */
const KEPT_SAMPLES = 500;

function keepSome(values: number[]): number[] {
  if (values.length <= KEPT_SAMPLES) return values.map((v) => Math.round(v * 100) / 100);
  const step = values.length / KEPT_SAMPLES;
  return Array.from(
    { length: KEPT_SAMPLES },
    (_, i) => Math.round((values[Math.floor(i * step)] as number) * 100) / 100,
  );
}

/** Writes the median, p99 and max of `values` as `<name>MedianMs` … values, and a few raw samples. */
function putLag(ctx: ScenarioContext, name: string, values: number[]): void {
  const s = summarize(values);
  if (!s) return;
  ctx.result.values[`${name}MedianMs`] = s.median;
  ctx.result.values[`${name}P99Ms`] = s.p99;
  ctx.result.values[`${name}MaxMs`] = s.max;
  ctx.result.samples[`${name}Ms`] = keepSome(values);
}

/**
 * serve: what one `rollcall serve` watching every group costs, and whether its event stream keeps up.
 *
 * Part 1 (cost): the steady scenario's per-member members (one session each) and consumer; a cost window
 * without the dashboard (`without.*`); then the real CLI's `rollcall serve` on the same URL, one client on
 * its event stream (`/events`, what the page reads) until it holds every group with every member, a
 * warm-up, and a second window (`with.*`), which also measures the serve process's own CPU and RSS.
 *
 * Part 2 (churn): the idle members leave; the churn scenario's coordinators join and leave one group as
 * fast as they can while the client follows the stream. Lag = arrival at the client − the moment the
 * member called `join()` / `leave()` (so it includes the write, as in notify), matched by member id and
 * seq; split at the dashboard server's own stamp. At the end the client's model of the group must equal
 * `members()` (ids and seqs).
 */
export async function serve(subject: Subject, backend: RunningBackend, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  if (backend.inProcess) {
    throw new UnsupportedError(
      "memory:// lives inside one process: a `rollcall serve` process cannot see its store",
    );
  }
  const v = settings.serve;
  result.settings = {
    ...result.settings,
    windowMs: v.windowMs,
    sliceMs: v.sliceMs,
    churnCoordinators: settings.churn.coordinators,
    churnRounds: settings.churn.rounds,
    churnDurationMs: settings.churn.durationMs,
  };
  const url = subject.url(`bench-serve-${randomId()}`);
  const idle = await startIdleMembers(subject, backend, "per-member", url, ctx);
  ctx.step(
    `all joined (consumer sees ${result.values.viewedMembers}); warming up ${settings.steady.warmupMs} ms`,
  );
  await sleep(settings.steady.warmupMs);
  const window = {
    backend,
    clientPids: idle.clientPids,
    inProcess: false,
    windowMs: v.windowMs,
    sliceMs: v.sliceMs,
    result,
    step: (text: string) => ctx.step(text),
  };
  ctx.step("window without the dashboard");
  await measureCostWindow({ ...window, prefix: "without.", step: (t) => ctx.step(`without serve: ${t}`) });

  ctx.step("starting rollcall serve");
  const spawnedAt = now();
  const served = scope.track(await ServeProcess.start(url, `${backend.name}:serve`));
  const servePids = () => (served.pid === undefined ? [] : [served.pid]);
  result.values.serveListeningMs = now() - spawnedAt;
  const client = new DashboardClient(`${served.baseUrl}/events`);
  try {
    await client.connect(v.snapshotTimeoutMs);
    const holdsAll = () => idle.groups.every((g) => client.group(g)?.size === idle.membersPerGroup);
    await client.waitUntil(
      holdsAll,
      v.snapshotTimeoutMs,
      `the event stream did not hold all ${idle.membersPerGroup} members of ${idle.groups.join(", ")}`,
    );
    result.values.serveSnapshotMs = now() - spawnedAt;
    ctx.step(
      `the stream holds ${idle.groups.length} group(s) of ${idle.membersPerGroup} after ${Math.round(now() - spawnedAt)} ms; warming up ${v.warmupMs} ms`,
    );
    await sleep(v.warmupMs);
    await measureCostWindow({
      ...window,
      prefix: "with.",
      others: { serve: servePids },
      step: (t) => ctx.step(`with serve: ${t}`),
    });
    result.values.streamDropsIdle = client.drops;

    await churnPhase(subject, ctx, url, idle, client, servePids);
  } finally {
    client.close();
    const stderr = served.stderrTail;
    if (stderr) result.notes.push(`rollcall serve wrote on stderr: ${stderr}`);
  }
}

async function churnPhase(
  subject: Subject,
  ctx: ScenarioContext,
  url: string,
  idle: Awaited<ReturnType<typeof startIdleMembers>>,
  client: DashboardClient,
  servePids: () => number[],
): Promise<void> {
  const { settings, scope, result } = ctx;
  const timeout = subject.sessionTimeoutMs;
  ctx.step(`the ${idle.membersPerGroup} idle members leave`);
  await mapLimit(idle.agents, 4, async (agent) => {
    await agent.request("close", {}, 120_000);
    await scope.close(agent);
  });
  const empty = () => idle.groups.every((g) => (client.group(g)?.size ?? 0) === 0);
  await client
    .waitUntil(empty, 3 * timeout + 10_000, "the stream did not see the idle members leave")
    .catch((error: Error) => result.notes.push(error.message));

  const group = `churn-${randomId()}`;
  const ids = Array.from({ length: settings.churn.coordinators }, (_, i) => `churner-${i + 1}`);
  const churners = await scope.spawn(subject, "churners");
  await churners.request("connect", { url, memberIds: ids, sessionTimeout: timeout }, 120_000);
  // The consumer joins first, so the dashboard finds the group (it lists groups every 2 s) before the churn.
  await idle.consumer.request("join", { group, memberIds: ["consumer"] });
  await client.waitUntil(
    () => client.group(group)?.has("consumer") === true,
    30_000,
    `the dashboard did not find the group ${group}`,
  );
  client.record(group);
  const ops = new Map<string, { join?: [number, number]; leave?: [number, number] }>();
  const rounds: { startedAt: number; endedAt: number }[] = [];
  let changes = 0;
  let errors = 0;
  let lastOpAt = now();
  for (let round = 0; round < settings.churn.rounds; round++) {
    ctx.step(
      `churn round ${round + 1}/${settings.churn.rounds}: ${ids.length} coordinators, ${settings.churn.durationMs} ms, the stream following`,
    );
    const cpu = new TreeCpu(servePids);
    const r = await churners.request<RecordedChurnRound>(
      "churn",
      { group, memberIds: ids, durationMs: settings.churn.durationMs, record: true },
      settings.churn.durationMs + 120_000,
    );
    const seconds = (r.endedAt - r.startedAt) / 1000;
    addSample(result, "churn.serveCpuPerMinute", (cpu.since() / seconds) * 60);
    addSample(result, "churn.opsPerSecond", (r.joins + r.leaves) / seconds);
    changes += r.joins + r.leaves;
    errors += r.errors;
    rounds.push({ startedAt: r.startedAt, endedAt: r.endedAt });
    lastOpAt = r.endedAt;
    if (r.firstError) result.notes.push(`churn error (${r.errors} in round ${round + 1}): ${r.firstError}`);
    for (const [memberId, type, seq, startedAt, endedAt] of r.ops) {
      const key = `${memberId}@${seq}`;
      const entry = ops.get(key) ?? {};
      entry[type] = [startedAt, endedAt];
      ops.set(key, entry);
    }
  }
  result.values["churn.changes"] = changes;
  result.values["churn.errors"] = errors;

  // The client's model must come to equal members(): ids and seqs.
  const bound = 3 * timeout + 10_000;
  let check = { equal: false, model: -1, members: -1, missing: [] as string[], extra: [] as string[] };
  while (now() - lastOpAt < bound) {
    const listed = (
      await idle.consumer.request<{ members: [string, string][] }>("members", { memberId: "consumer", group })
    ).members;
    const model = client.group(group) ?? new Map<string, string>();
    const want = new Map(listed);
    const missing = [...want].filter(([id, seq]) => model.get(id) !== seq).map(([id]) => id);
    const extra = [...model.keys()].filter((id) => !want.has(id));
    check = {
      equal: missing.length === 0 && extra.length === 0,
      model: model.size,
      members: want.size,
      missing,
      extra,
    };
    if (check.equal) break;
    await sleep(50);
  }
  result.values["churn.equal"] = check.equal;
  result.values["churn.settleMs"] = now() - lastOpAt;
  result.values["churn.modelSize"] = check.model;
  result.values["churn.membersSize"] = check.members;
  result.values["churn.drops"] = client.drops;
  result.values["churn.resyncs"] = client.resyncs;
  if (!check.equal) {
    result.notes.push(
      `the stream's model did not equal members() within ${bound} ms of the last change: model ${check.model} vs members() ${check.members}; missing or other seq ${check.missing.slice(0, 5).join(",")} extra ${check.extra.slice(0, 5).join(",")}`,
    );
  }

  // Lag: arrival at the client − the member's call, matched by member id and seq.
  const lag: number[] = [];
  const afterReturn: number[] = [];
  const toServer: number[] = [];
  const toClient: number[] = [];
  const perRound = rounds.map(() => [] as number[]);
  let unmatched = 0;
  let seen = 0;
  for (const a of client.arrivals as StreamArrival[]) {
    if (a.memberId === "consumer") continue;
    seen++;
    const op = ops.get(`${a.memberId}@${a.seq}`)?.[a.type];
    if (!op) {
      unmatched++;
      continue;
    }
    const [calledAt, returnedAt] = op;
    lag.push(a.arrivedAt - calledAt);
    afterReturn.push(a.arrivedAt - returnedAt);
    toServer.push(a.serverAt - calledAt);
    toClient.push(a.arrivedAt - a.serverAt);
    const index = rounds.findIndex((r) => calledAt <= r.endedAt);
    perRound[index === -1 ? rounds.length - 1 : index]?.push(a.arrivedAt - calledAt);
  }
  result.values["churn.eventsSeen"] = seen;
  result.values["churn.unmatched"] = unmatched;
  putLag(ctx, "churn.lag", lag);
  putLag(ctx, "churn.lagAfterReturn", afterReturn);
  putLag(ctx, "churn.toServer", toServer);
  putLag(ctx, "churn.toClient", toClient);
  for (const list of perRound) {
    const s = summarize(list);
    if (s) addSample(result, "churn.roundLagMedianMs", s.median);
  }
  // Kept up: the stream was never dropped for falling behind, and its model equalled members() within one
  // session timeout of the last change (no backlog left to work off).
  const settled = Number(result.values["churn.settleMs"]);
  result.values["churn.keptUp"] = check.equal && client.drops === 0 && settled <= timeout;
  ctx.step(
    `stream: ${seen} joins/leaves seen of ${changes} made, lag median ${Math.round(Number(result.values["churn.lagMedianMs"] ?? Number.NaN))} ms, equal ${check.equal}, drops ${client.drops}`,
  );
}
