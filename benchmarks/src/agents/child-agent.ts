import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { now } from "../clock.js";
import type { Agent } from "./agent.js";
import { type AgentEvent, EventLog } from "./event-log.js";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Every agent process this harness started and has not seen exit, so none outlives the run. */
const live = new Set<ChildProcess>();

/** SIGKILLs every agent process still running (only ours). */
export function killAllAgents(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

process.once("exit", killAllAgents);

/** Counts a process this harness started some other way (not an agent) among those killed at exit. */
export function trackProcess(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** How to start an agent process. */
export interface ChildAgentSpec {
  label: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long the process may take to say it is ready. */
  readyTimeoutMs?: number;
}

/** An agent in its own process. */
export class ChildAgent implements Agent {
  readonly events = new EventLog();
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = "";
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly label: string,
    spec: ChildAgentSpec,
  ) {
    this.child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.add(this.child);
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) =>
      this.onLine(line),
    );
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.child.stdin?.on("error", () => {});
    this.exitPromise = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exited = true;
        live.delete(this.child);
        const error = new Error(`${this.label} exited (${signal ?? code})${this.details()}`);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(error);
        }
        this.pending.clear();
        this.events.close(error);
        resolve();
      });
    });
  }

  /** Starts the process and resolves once it reported `ready`. */
  static async start(spec: ChildAgentSpec): Promise<ChildAgent> {
    const agent = new ChildAgent(spec.label, spec);
    try {
      await agent.events.waitFor((e) => e.event === "ready", spec.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await agent.close();
      throw new Error(`${spec.label} did not start: ${(error as Error).message}${agent.details()}`);
    }
    return agent;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private details(): string {
    const tail = this.stderr.trim().split("\n").slice(-6).join(" | ");
    return tail === "" ? "" : `; stderr: ${tail}`;
  }

  private onLine(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.stderr = `${this.stderr}${line}\n`.slice(-4000);
      return;
    }
    if (typeof message.id === "number") {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${this.label}: ${String(message.error)}`));
      return;
    }
    if (typeof message.event === "string") this.events.push(message as AgentEvent);
  }

  request<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited${this.details()}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: ${cmd} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.child.stdin?.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    });
  }

  async kill(): Promise<number> {
    const at = now();
    if (!this.exited) this.child.kill("SIGKILL");
    await this.exitPromise;
    return at;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    try {
      this.child.stdin?.end();
    } catch {
      // already closed
    }
    const grace = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
    await Promise.race([this.exitPromise, grace]);
    if (!this.exited) this.child.kill("SIGKILL");
    await this.exitPromise;
  }
}
