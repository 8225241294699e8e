import type { EventLog } from "./event-log.js";

/**
 * A participant of a scenario: a process (or, for the in-process memory backend, an object) that holds
 * coordinators and does what the harness asks. Rollcall agents, the tooz agent and the Nova agent all
 * speak the same JSON-lines protocol: requests `{id, cmd, …}` on stdin; replies `{id, ok, result}` or
 * `{id, ok: false, error}` and events `{event, at, …}` on stdout.
 */
export interface Agent {
  /** For progress lines and errors. */
  readonly label: string;
  /** The agent's OS process, if it has one of its own. */
  readonly pid: number | undefined;
  /** What the agent reported on its own. */
  readonly events: EventLog;
  /** Sends a command and resolves with its result; rejects with the agent's error or on timeout. */
  request<T = unknown>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /**
   * Crashes the agent: SIGKILL of its process (for an in-process agent: its sessions stop being kept
   * alive, as the memory backend's `freeze`). Resolves with the moment the signal was sent.
   */
  kill(): Promise<number>;
  /** Ends the agent gracefully if it still runs (then SIGKILL after a grace period). Idempotent. */
  close(): Promise<void>;
}

/** The common shape of a command's timing result. */
export interface Timed {
  startedAt: number;
  endedAt: number;
}
