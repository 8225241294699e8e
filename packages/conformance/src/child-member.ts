import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LabHost } from "@rollcall/servers";
import { type JsonLineProcess, spawnJsonLines } from "./json-line-process.js";
import type { MemberScript } from "./member-script.js";
import { type ChildMessage, MessageLog, type Participant } from "./message-log.js";

/** What a member process does once connected. */
export interface ChildMemberConfig extends MemberScript {
  url: string;
  memberId: string;
  /**
   * Modules the child imports before connecting (e.g. a backend package): bare names resolve from the
   * kit's folder, anything else is a file URL.
   */
  modules?: string[];
  /** A network-lab host to run the process in (its link can then be cut: a real partition). */
  host?: LabHost;
}

const script = fileURLToPath(new URL("./member-process.js", import.meta.url));

/**
 * A member running in a real child process, for the liveness suites: it can be killed (SIGKILL),
 * frozen (SIGSTOP) and thawed (SIGCONT), or asked to close gracefully.
 */
export class ChildMember extends MessageLog implements Participant {
  private readonly process: ChildProcess;
  private readonly child: JsonLineProcess;
  private exited = false;
  killedAt: number | undefined;

  constructor(readonly config: ChildMemberConfig) {
    super(config.memberId);
    const { host, ...memberConfig } = config;
    this.child = spawnJsonLines(
      script,
      { ROLLCALL_MEMBER_CONFIG: JSON.stringify({ modules: [], join: [], ...memberConfig }) },
      (message) => this.push(message as unknown as ChildMessage),
      host,
    );
    this.process = this.child.process;
    this.process.on("exit", (code, signal) => {
      this.exited = true;
      if (!this.messages.some((m) => m.type === "closed")) this.gone = `exited (${signal ?? code})`;
      this.wake();
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  protected override details(): string {
    return `; stderr: ${this.child.output().slice(-1500)}`;
  }

  private command(cmd: string): void {
    this.process.stdin?.write(`${JSON.stringify({ cmd })}\n`);
  }

  close(): void {
    this.command("close");
  }

  resign(): void {
    this.command("resign");
  }

  kill(): void {
    if (this.exited) return;
    this.killedAt = Date.now();
    this.process.kill("SIGKILL");
  }

  freeze(): void {
    this.process.kill("SIGSTOP");
  }

  thaw(): void {
    this.process.kill("SIGCONT");
  }

  /** Resolves when the process has exited. */
  exit(timeout: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`member ${this.memberId} did not exit within ${timeout} ms`)),
        timeout,
      );
      this.process.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async dispose(): Promise<void> {
    if (this.exited) return;
    try {
      this.process.kill("SIGCONT");
    } catch {}
    this.process.kill("SIGKILL");
    await this.exit(5000).catch(() => {});
  }
}
