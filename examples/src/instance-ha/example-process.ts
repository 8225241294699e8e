import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LIFELINE, type Reported } from "./report.js";
import { type ChangeSource, until } from "./until.js";

/**
 * One of the example's processes (a compute or a reactor), started with `node <script> <args>`: its
 * JSON-line reports are collected in {@link events} and handed to `onEvent`; anything else it prints
 * is passed through. Its stdin stays open: when this process ends, the child sees it close and stops.
 */
export class ExampleProcess {
  /** Everything it reported, in order. */
  readonly events: Reported[] = [];
  private readonly child: ChildProcess;
  private readonly wakes = new Set<() => void>();
  private readonly exit: Promise<void>;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    onEvent: (event: Reported) => void,
  ) {
    this.child = spawn(process.execPath, [script, ...args], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, [LIFELINE]: "1" },
    });
    this.exit = new Promise((resolve) => this.child.once("exit", () => resolve()));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let event: Reported;
      try {
        event = JSON.parse(line) as Reported;
      } catch {
        console.log(`${name}: ${line}`);
        return;
      }
      this.events.push(event);
      onEvent(event);
      for (const wake of [...this.wakes]) wake();
    });
  }

  /** A change source ({@link until}) that fires on every report and when the process exits. */
  readonly changes: ChangeSource = (wake) => {
    this.wakes.add(wake);
    this.child.on("exit", wake);
    return () => {
      this.wakes.delete(wake);
      this.child.off("exit", wake);
    };
  };

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first report that matches (already in or still to come), within `timeoutMs`. */
  async waitFor(what: string, matches: (event: Reported) => boolean, timeoutMs: number): Promise<Reported> {
    await until(
      `${this.name}: ${what}`,
      () => {
        if (this.events.some(matches)) return true;
        if (!this.alive) throw new Error(`${this.name} exited while waiting for ${what}`);
        return false;
      },
      [this.changes],
      timeoutMs,
    );
    return this.events.find(matches) as Reported;
  }

  /** The reactor state it reported last. */
  lastState(): string | undefined {
    const last = this.events.findLast((e) => e.event === "state");
    return last?.event === "state" ? last.state : undefined;
  }

  /** Kills it at once: a crash. */
  kill(): void {
    this.child.kill("SIGKILL");
  }

  /** Asks it to stop (SIGTERM: it leaves / resigns cleanly) and waits until it has exited. */
  async stop(): Promise<void> {
    if (this.alive) this.child.kill("SIGTERM");
    await this.exit;
  }
}
