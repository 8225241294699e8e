import { ChildAgent } from "../agents/child-agent.js";
import type { ScaleResult } from "../agents/scale-run.js";
import type { RunningBackend } from "../backends/backend-spec.js";
import { randomId } from "../clock.js";
import { AGENT_MAIN } from "../paths.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/**
 * scale: 10,000 members in one group (written through the backend's driver, 500 per session), then,
 * in the same process (so the memory backend works too), new watchers take their snapshot: the time
 * to `view()`, the heap one view holds, the latency of `members()` and how many `view.isUp()` calls
 * a second one core does.
 */
export async function scale(backend: RunningBackend, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const s = settings.scale;
  const url = backend.url(`bench-scale-${randomId()}`, settings.sessionTimeoutMs);
  const agent = scope.track(
    await ChildAgent.start({
      label: `${backend.name}:scale`,
      command: process.execPath,
      args: ["--expose-gc", AGENT_MAIN],
    }),
  );
  await agent.request("import", { modules: [backend.module] });
  ctx.step(
    `loading ${s.members} members over ${s.loaderSessions} sessions, then ${s.snapshotRepetitions} new watchers`,
  );
  const r = await agent.request<ScaleResult>(
    "scale",
    {
      url,
      group: "scale",
      members: s.members,
      loaderSessions: s.loaderSessions,
      snapshotRepetitions: s.snapshotRepetitions,
      membersCalls: s.membersCalls,
      isUpMs: s.isUpMs,
    },
    settings.scenarioTimeoutMs,
  );
  result.values.loadMs = r.loadMs;
  result.values.members = s.members;
  for (const v of r.snapshotMs) addSample(result, "snapshotMs", v);
  for (const v of r.viewBytes) addSample(result, "viewBytes", v);
  for (const v of r.membersMs) addSample(result, "membersMs", v);
  for (const v of r.isUpPerSecond) addSample(result, "isUpPerSecond", v);
  const wrong = r.viewSizes.filter((n) => n !== s.members);
  if (wrong.length > 0) result.notes.push(`view sizes ${r.viewSizes.join(", ")} instead of ${s.members}`);
}
