import type { LabHost } from "@rollcall/servers";
import type { Agent } from "../agents/agent.js";
import { mapLimit } from "../agents/limit.js";
import type { Subject } from "../subjects.js";

/** The agents one scenario run started; all of them are ended when it finishes, however it ends. */
export class Scope {
  private readonly agents = new Set<Agent>();

  /** Starts a participant of the subject (inside a network lab host if given) and tracks it. */
  async spawn(subject: Subject, label: string, host?: LabHost): Promise<Agent> {
    const agent = await subject.spawn(label, host);
    this.agents.add(agent);
    return agent;
  }

  /** Tracks an agent started some other way. */
  track<T extends Agent>(agent: T): T {
    this.agents.add(agent);
    return agent;
  }

  /** The tracked agents that have an OS process. */
  pids(): number[] {
    return [...this.agents].map((a) => a.pid).filter((p): p is number => p !== undefined);
  }

  /** Ends one agent gracefully and stops tracking it. */
  async close(agent: Agent): Promise<void> {
    this.agents.delete(agent);
    await agent.close();
  }

  /** Ends every agent gracefully (SIGKILL after a grace period). */
  async closeAll(): Promise<void> {
    const all = [...this.agents];
    this.agents.clear();
    await mapLimit(all, 16, (a) => a.close().catch(() => {}));
  }

  /** SIGKILLs every agent (after a scenario timed out). */
  async killAll(): Promise<void> {
    const all = [...this.agents];
    this.agents.clear();
    await Promise.all(
      all.map((a) =>
        a
          .kill()
          .then(() => a.close())
          .catch(() => {}),
      ),
    );
  }
}
