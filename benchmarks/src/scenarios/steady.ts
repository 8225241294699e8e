import type { Agent } from "../agents/agent.js";
import { mapLimit } from "../agents/limit.js";
import type { RunningBackend } from "../backends/backend-spec.js";
import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { measureCostWindow } from "./cost-window.js";
import type { ScenarioContext } from "./scenario.js";

/** The two shapes of 1,000 idle members. */
export type SteadyShape = "per-member" | "shared";

/**
 * steady cost: 1,000 idle members and one consumer holding a view of their group(s), measured for a
 * window. Shape `per-member`: one session (coordinator) per member, spread over several client
 * processes. Shape `shared`: 100 sessions, each a member of 10 groups (a coordinator is one member id,
 * so sharing a session means sharing it across groups); the consumer views all 10 groups.
 */
export async function steady(
  subject: Subject,
  backend: RunningBackend,
  shape: SteadyShape,
  ctx: ScenarioContext,
) {
  const { settings, scope, result } = ctx;
  const s = settings.steady;
  const url = subject.url(`bench-steady-${randomId()}`);
  const sessions = shape === "per-member" ? s.members : s.sharedSessions;
  const groupsPerSession = shape === "per-member" ? 1 : Math.ceil(s.members / s.sharedSessions);
  const groups = Array.from({ length: groupsPerSession }, (_, g) => `steady-${g}`);
  const processes = backend.inProcess
    ? 1
    : shape === "per-member"
      ? s.processes
      : Math.max(1, Math.ceil(sessions / 50));
  result.settings = {
    ...result.settings,
    shape,
    members: sessions * groupsPerSession,
    sessions,
    processes,
    groups: groups.length,
  };
  const ids = Array.from({ length: sessions }, (_, i) => `idle-${String(i + 1).padStart(4, "0")}`);
  const chunks = Array.from({ length: processes }, (_, p) => ids.filter((_, i) => i % processes === p));
  ctx.step(`starting ${sessions} sessions in ${processes} process(es), ${groups.length} group(s)`);
  const agents: Agent[] = await mapLimit(chunks, 4, async (chunk, p) => {
    const agent = await scope.spawn(subject, `members-${p + 1}`);
    await agent.request(
      "connect",
      { url, memberIds: chunk, concurrency: 10, sessionTimeout: subject.sessionTimeoutMs },
      300_000,
    );
    for (const group of groups)
      await agent.request("join", { group, memberIds: chunk, concurrency: 10 }, 300_000);
    return agent;
  });
  const consumer = await scope.spawn(subject, "consumer");
  await consumer.request("connect", {
    url,
    memberIds: ["consumer"],
    sessionTimeout: subject.sessionTimeoutMs,
  });
  let viewed = 0;
  for (const group of groups)
    viewed += (await consumer.request<{ size: number }>("view", { memberId: "consumer", group }, 120_000))
      .size;
  result.values.viewedMembers = viewed;
  ctx.step(`all joined (consumer sees ${viewed}); warming up ${settings.steady.warmupMs} ms`);
  await sleep(s.warmupMs);
  await measureCostWindow({
    backend,
    clientPids: () => [...agents, consumer].map((a) => a.pid).filter((p): p is number => p !== undefined),
    inProcess: backend.inProcess,
    windowMs: s.windowMs,
    sliceMs: s.sliceMs,
    result,
    step: ctx.step,
  });
  ctx.step("closing the members");
}
