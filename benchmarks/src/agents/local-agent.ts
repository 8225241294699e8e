import { now } from "../clock.js";
import type { Agent } from "./agent.js";
import { AgentHost } from "./agent-host.js";
import { type AgentEvent, EventLog } from "./event-log.js";

/**
 * An agent inside the harness's own process, for the memory backend (whose store is per process).
 * `kill()` stops its sessions being kept alive through the backend's `freeze` hook, so the store's
 * reaper expires them after `sessionTimeout`, as a server would after a SIGKILL.
 */
export class LocalAgent implements Agent {
  readonly events = new EventLog();
  readonly pid = undefined;
  private readonly host: AgentHost;
  private killed = false;

  constructor(
    readonly label: string,
    private readonly freeze: (memberId: string) => void,
    private readonly thaw: (memberId: string) => void,
  ) {
    this.host = new AgentHost((event) => {
      if (!this.killed) this.events.push(event as AgentEvent);
    });
  }

  async request<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.killed) throw new Error(`${this.label} was killed`);
    return (await this.host.handle(cmd, args)) as T;
  }

  async kill(): Promise<number> {
    const at = now();
    this.killed = true;
    this.host.crash(this.freeze);
    this.events.close(new Error(`${this.label} was killed`));
    return at;
  }

  async close(): Promise<void> {
    if (this.killed) {
      // A crashed member's coordinators are frozen: thaw them so close() can finish, after the
      // scenario has looked at everything it wanted.
      for (const memberId of this.host.memberIds()) {
        try {
          this.thaw(memberId);
        } catch {
          // already gone
        }
      }
    }
    await this.host.close();
  }
}
