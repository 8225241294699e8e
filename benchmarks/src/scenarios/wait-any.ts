import type { Agent } from "../agents/agent.js";
import type { AgentEvent } from "../agents/event-log.js";

/** Where each agent's event log stands now: pass to {@link firstEvent} to see only later events. */
export function marks(agents: readonly Agent[]): Map<Agent, number> {
  return new Map(agents.map((a) => [a, a.events.length]));
}

/**
 * The first event matching `predicate` that any of the agents reports after its mark, with the agent
 * that reported it. Agents that are gone are ignored; rejects when none reports in time.
 */
export async function firstEvent(
  agents: readonly Agent[],
  predicate: (event: AgentEvent) => boolean,
  timeoutMs: number,
  from: Map<Agent, number> = marks(agents),
): Promise<{ agent: Agent; event: AgentEvent }> {
  try {
    return await Promise.any(
      agents.map((agent) =>
        agent.events.waitFor(predicate, timeoutMs, from.get(agent) ?? 0).then((event) => ({ agent, event })),
      ),
    );
  } catch {
    throw new Error(`no agent reported the event within ${timeoutMs} ms`);
  }
}
