import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { now } from "../clock.js";
import { ROLLCALL_CLI } from "../paths.js";
import type { Agent } from "./agent.js";
import { trackProcess } from "./child-agent.js";
import { EventLog } from "./event-log.js";

/** What `rollcall serve` prints once it listens: `rollcall serve: dashboard on http://127.0.0.1:PORT/ with …`. */
const LISTENING = /dashboard on (http:\/\/\S+?)\/ with /;

/**
 * The real CLI's `rollcall serve --url URL --listen 127.0.0.1:0` as a child process (the dashboard, its
 * event stream, `/metrics` and the health probes). An {@link Agent} only so a scenario's scope ends it
 * however the scenario ends: it takes no commands.
 */
export class ServeProcess implements Agent {
  readonly events = new EventLog();
  private stderr = "";
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:PORT`: the dashboard's base, without the trailing slash. */
    readonly baseUrl: string,
  ) {
    this.exitPromise = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    }).then(() => {
      this.exited = true;
      this.events.close(new Error(`${label} exited`));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  /**
   * Starts `rollcall serve` on a free loopback port and resolves once it printed where it listens.
   * @throws Error (with the end of its stderr) when it exits or does not say so within `timeoutMs`
   */
  static async start(url: string, label: string, timeoutMs = 60_000): Promise<ServeProcess> {
    const child = spawn(process.execPath, [ROLLCALL_CLI, "serve", "--url", url, "--listen", "127.0.0.1:0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    trackProcess(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`did not say where it listens within ${timeoutMs} ms`)),
          timeoutMs,
        );
        lines.on("line", (line) => {
          const match = LISTENING.exec(line);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`exited (${signal ?? code})`));
        });
        child.once("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      const serve = new ServeProcess(label, child, base);
      serve.stderr = stderr;
      // Keep reading its stdout, so a full pipe never blocks it.
      lines.on("line", () => {});
      return serve;
    } catch (error) {
      child.kill("SIGKILL");
      const tail = stderr.trim().split("\n").slice(-6).join(" | ");
      throw new Error(
        `rollcall serve (${ROLLCALL_CLI}) ${(error as Error).message}${tail ? `; stderr: ${tail}` : ""}`,
      );
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The end of what it wrote on stderr. */
  get stderrTail(): string {
    return this.stderr.trim().split("\n").slice(-6).join(" | ");
  }

  request<T = unknown>(cmd: string): Promise<T> {
    return Promise.reject(new Error(`${this.label} takes no commands (${cmd})`));
  }

  async kill(): Promise<number> {
    const at = now();
    if (!this.exited) this.child.kill("SIGKILL");
    await this.exitPromise;
    return at;
  }

  /** SIGTERM (it closes its watches and its session), SIGKILL after 10 s. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGTERM");
    const grace = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
    await Promise.race([this.exitPromise, grace]);
    if (!this.exited) this.child.kill("SIGKILL");
    await this.exitPromise;
  }
}
