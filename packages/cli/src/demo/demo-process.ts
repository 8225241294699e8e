import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../bin.js", import.meta.url));

/** A `rollcall` child process started by the demo; its output lines go to `onLine`. */
export class DemoProcess {
  private child: ChildProcess | undefined;
  frozen = false;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly onLine: (name: string, line: string) => void,
    /** Extra environment, e.g. `ROLLCALL_URL`: a URL with a password never goes on a command line. */
    private readonly env: Record<string, string> = {},
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const child = spawn(process.execPath, [bin, ...this.args], {
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream)
        createInterface({ input: stream }).on("line", (line) =>
          this.onLine(this.name, line.replace(/^rollcall: /, "")),
        );
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
    if (signal === "SIGSTOP") this.frozen = true;
    if (signal === "SIGCONT") this.frozen = false;
  }

  /** SIGTERM (graceful leave), then SIGKILL if it lingers. */
  async stop(timeout = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (this.frozen) this.signal("SIGCONT");
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    await exited;
    clearTimeout(timer);
  }
}
