import type { LabHost } from "@rollcall/servers";
import type { Agent } from "../agents/agent.js";
import type { AgentEvent } from "../agents/event-log.js";
import type { ScenarioResult } from "../results.js";
import type { Subject } from "../subjects.js";
import { UnsupportedError } from "./scenario.js";
import type { Scope } from "./scope.js";

/** Matches a watcher's `join` / `leave` / `update` event about one member. */
export function watchEvent(type: string, memberId: string): (event: AgentEvent) => boolean {
  return (e) => e.event === "watch" && e.type === type && e.memberId === memberId;
}

/**
 * Starts a watcher process (member id `watcher`) watching `group`, and records the session timeout the
 * backend applied in the result. Resolves with the watcher and that timeout.
 */
export async function startWatcher(
  scope: Scope,
  subject: Subject,
  url: string,
  group: string,
  result: ScenarioResult,
): Promise<{ watcher: Agent; applied: number }> {
  const timeout = subject.sessionTimeoutMs;
  const watcher = await scope.spawn(subject, "watcher");
  const connected = await watcher.request<{ sessionTimeout: number }>("connect", {
    url,
    memberIds: ["watcher"],
    sessionTimeout: timeout,
  });
  const applied = connected.sessionTimeout || timeout;
  result.values.sessionTimeoutMs = applied;
  await watcher.request("watch", { memberId: "watcher", group });
  return { watcher, applied };
}

/** Starts a member process (inside a lab host if given) that connects and joins `group`. */
export async function startMember(
  scope: Scope,
  subject: Subject,
  url: string,
  group: string,
  memberId: string,
  host?: LabHost,
): Promise<Agent> {
  const agent = await scope.spawn(subject, memberId, host);
  await agent.request("connect", { url, memberIds: [memberId], sessionTimeout: subject.sessionTimeoutMs });
  await agent.request("join", { group, memberIds: [memberId] });
  return agent;
}

/**
 * Starts a candidate process (inside a lab host if given) that connects and campaigns in `election`; the
 * session timeout the backend applied goes into the result. Its `elected` / `deposed` events follow.
 * @throws UnsupportedError when the subject has no leader election
 */
export async function startCandidate(
  scope: Scope,
  subject: Subject,
  url: string,
  memberId: string,
  election: string,
  result: ScenarioResult,
  host?: LabHost,
): Promise<Agent> {
  const agent = await scope.spawn(subject, memberId, host);
  const connected = await agent.request<{ sessionTimeout: number }>("connect", {
    url,
    memberIds: [memberId],
    sessionTimeout: subject.sessionTimeoutMs,
  });
  if (connected.sessionTimeout) result.values.sessionTimeoutMs = connected.sessionTimeout;
  try {
    await agent.request("campaign", { memberId, election });
  } catch (error) {
    if (/NotImplemented/.test(String(error))) {
      throw new UnsupportedError(
        `${subject.id}: watch_elected_as_leader() raised NotImplemented — this driver has no leader election`,
      );
    }
    throw error;
  }
  return agent;
}
