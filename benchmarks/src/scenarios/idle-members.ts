import type { Agent } from "../agents/agent.js";
import { mapLimit } from "../agents/limit.js";
import type { RunningBackend } from "../backends/backend-spec.js";
import type { Subject } from "../subjects.js";
import type { ScenarioContext } from "./scenario.js";

/** The two shapes of 1,000 idle members. */
export type SteadyShape = "per-member" | "shared";

/** Idle members started by {@link startIdleMembers}, and the consumer holding views of their groups. */
export interface IdleMembers {
  /** The URL (namespace) they are in. */
  url: string;
  /** Their groups: `steady-0` …; one for shape `per-member`. */
  groups: string[];
  /** Members in each group. */
  membersPerGroup: number;
  /** The member processes (one agent for memory://). */
  agents: Agent[];
  /** The process holding a view of every group (member id `consumer`, not a member of them). */
  consumer: Agent;
  /** Pids of the member and consumer processes (their CPU is the client cost). */
  clientPids(): number[];
}

/**
 * The steady scenario's members: `settings.steady.members` idle members in `url`, and one consumer
 * holding a view of their group(s). Shape `per-member`: one session (coordinator) per member, spread
 * over several client processes. Shape `shared`: `sharedSessions` sessions, each a member of several
 * groups (a coordinator is one member id, so sharing a session means sharing it across groups); the
 * consumer views all of them. Records the shape in the result's settings and what the consumer sees in
 * `values.viewedMembers`. Shared by the steady and serve scenarios.
 */
export async function startIdleMembers(
  subject: Subject,
  backend: RunningBackend,
  shape: SteadyShape,
  url: string,
  ctx: ScenarioContext,
): Promise<IdleMembers> {
  const { settings, scope, result } = ctx;
  const s = settings.steady;
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
  return {
    url,
    groups,
    membersPerGroup: sessions,
    agents,
    consumer,
    clientPids: () => [...agents, consumer].map((a) => a.pid).filter((p): p is number => p !== undefined),
  };
}
