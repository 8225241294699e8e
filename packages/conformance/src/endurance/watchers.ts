import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Coordinator, connect } from "@rollcall/core";
import { type JsonLineProcess, spawnJsonLines } from "../json-line-process.js";
import { WatchTally, type WatchTallyReport } from "./watch-tally.js";

/** The soak's watcher: in another process where the backend allows it, else in this one. */
export interface SoakWatcher {
  /** What it saw so far. Rejects if the watcher died. */
  report(): Promise<WatchTallyReport>;
  /** Why the watcher process ended before {@link close}, if it did. */
  readonly died: string | undefined;
  close(): Promise<void>;
}

/** What a watcher needs to connect. */
export interface WatcherConfig {
  url: string;
  memberId: string;
  group: string;
  /** Modules a child watcher imports before connecting (the backend's package). */
  modules: string[];
}

/** A watcher in this process, for `scope: "process"` backends. */
export class LocalWatcher implements SoakWatcher {
  readonly died = undefined;
  private constructor(
    private readonly coord: Coordinator,
    private readonly tally: WatchTally,
  ) {}

  static async start(config: WatcherConfig): Promise<LocalWatcher> {
    const coord = await connect(config.url, { memberId: config.memberId });
    await coord.createGroup(config.group).catch(() => {});
    const tally = new WatchTally(coord, config.group);
    await tally.start();
    return new LocalWatcher(coord, tally);
  }

  async report(): Promise<WatchTallyReport> {
    return this.tally.snapshot();
  }

  async close(): Promise<void> {
    await this.tally.stop();
    await this.coord.close();
  }
}

const script = fileURLToPath(new URL("./watcher-process.js", import.meta.url));

/** A watcher in a child process: a second client, as a consumer service would be. */
export class ChildWatcher implements SoakWatcher {
  private readonly process: ChildProcess;
  private readonly child: JsonLineProcess;
  private exit: string | undefined;
  private closing = false;
  private readonly pending: ((message: Record<string, unknown>) => void)[] = [];
  private readonly ready: Promise<void>;

  constructor(config: WatcherConfig) {
    this.ready = new Promise((resolve, reject) => {
      this.pending.push((message) =>
        message.type === "ready" ? resolve() : reject(new Error(`watcher: ${JSON.stringify(message)}`)),
      );
    });
    this.ready.catch(() => {});
    this.child = spawnJsonLines(script, { ROLLCALL_WATCHER_CONFIG: JSON.stringify(config) }, (message) =>
      this.pending.shift()?.(message),
    );
    this.process = this.child.process;
    this.process.on("exit", (code, signal) => {
      if (!this.closing)
        this.exit = `watcher exited (${signal ?? code}); stderr: ${this.child.output().slice(-1500)}`;
      for (const waiter of this.pending.splice(0)) waiter({ type: "exit", detail: this.exit });
    });
  }

  /** Starts a child watcher and waits until its watch has its snapshot. */
  static async start(config: WatcherConfig, timeout: number): Promise<ChildWatcher> {
    const watcher = new ChildWatcher(config);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        watcher.ready,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the watcher was not ready within ${timeout} ms`)),
            timeout,
          );
        }),
      ]);
    } catch (error) {
      await watcher.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return watcher;
  }

  get died(): string | undefined {
    return this.exit;
  }

  private request(cmd: string): Promise<Record<string, unknown>> {
    if (this.exit) return Promise.reject(new Error(this.exit));
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.process.stdin?.write(`${JSON.stringify({ cmd })}\n`);
    });
  }

  async report(): Promise<WatchTallyReport> {
    const message = await this.request("report");
    if (message.type !== "report") throw new Error(`watcher: ${JSON.stringify(message)}`);
    return message.report as WatchTallyReport;
  }

  async close(): Promise<void> {
    if (this.exit || this.closing) return;
    this.closing = true;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.stdin?.write(`${JSON.stringify({ cmd: "close" })}\n`);
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
