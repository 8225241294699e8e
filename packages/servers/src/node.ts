import { ServerStartError } from "./errors.js";
import { readLogTail } from "./log-tail.js";
import type { LabHost } from "./network-lab.js";
import { describeExit, ManagedProcess, type ProcessSpec } from "./process.js";
import type { ServerNode } from "./types.js";
import { PollError, pollUntil } from "./wait.js";

/** Everything a {@link ManagedNode} needs to know about its server program. */
export interface NodeDefinition {
  /** 1-based index. */
  id: number;
  /** Name for logs and errors. */
  name: string;
  /** The address the node listens on. */
  host: string;
  /** The client port. */
  port: number;
  /** The lab host the node runs in, if any (its `spec` must then run the program through it). */
  labHost?: LabHost;
  /** All ports by role. */
  ports: Readonly<Record<string, number>>;
  /** The node's directory. */
  dir: string;
  /** The log file. */
  logFile: string;
  /** Strings (passwords) replaced by `***` in {@link ManagedNode.logTail} and so in errors. */
  secrets?: readonly string[];
  /** The program to run (computed at each start). */
  spec: () => ProcessSpec;
  /** Readiness probe; exceptions count as "not ready". */
  isReady: () => Promise<boolean>;
  /** Called each time the node has become ready. */
  onReady?: () => void;
  /** Signal for a graceful stop. */
  stopSignal: NodeJS.Signals;
  /** Readiness deadline in milliseconds. */
  startTimeoutMs: number;
  /** Grace period of a graceful stop in milliseconds. */
  stopTimeoutMs: number;
}

/**
 * The {@link ServerNode} implementation: one server process that can be killed, paused, stopped and started
 * again on the same ports and data.
 */
export class ManagedNode implements ServerNode {
  readonly id: number;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly labHost: LabHost | undefined;
  readonly ports: Readonly<Record<string, number>>;
  readonly dir: string;
  readonly logFile: string;
  readonly #definition: NodeDefinition;
  #process: ManagedProcess | undefined;
  #lastPid = 0;
  #paused = false;

  /** @param definition - the node's program, ports and probes. */
  constructor(definition: NodeDefinition) {
    this.#definition = definition;
    this.id = definition.id;
    this.name = definition.name;
    this.host = definition.host;
    this.port = definition.port;
    this.labHost = definition.labHost;
    this.ports = definition.ports;
    this.dir = definition.dir;
    this.logFile = definition.logFile;
  }

  get pid(): number {
    return this.#process?.pid ?? this.#lastPid;
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  get paused(): boolean {
    return this.running && this.#paused;
  }

  get partitioned(): boolean {
    return this.labHost?.isCut ?? false;
  }

  async partition(): Promise<void> {
    await this.#lab().cut();
  }

  async heal(): Promise<void> {
    await this.#lab().heal();
  }

  #lab(): LabHost {
    if (this.labHost === undefined) {
      throw new Error(`${this.name} does not run in a network lab: start its server with the \`lab\` option`);
    }
    return this.labHost;
  }

  logTail(lines = 20): string {
    let tail = readLogTail(this.logFile, lines);
    for (const secret of this.#definition.secrets ?? [])
      if (secret !== "") tail = tail.split(secret).join("***");
    return tail;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    this.#paused = false;
    let child: ManagedProcess;
    try {
      child = await ManagedProcess.spawn(this.#definition.spec());
    } catch (error) {
      throw new ServerStartError(
        this.name,
        `cannot start: ${(error as Error).message}`,
        this.logFile,
        this.logTail(),
      );
    }
    this.#process = child;
    this.#lastPid = child.pid;
    try {
      await pollUntil(() => this.#definition.isReady(), {
        timeoutMs: this.#definition.startTimeoutMs,
        abort: () => {
          const status = child.status;
          return status === undefined ? undefined : `${describeExit(status)} before becoming ready`;
        },
      });
    } catch (error) {
      if (!(error instanceof PollError)) throw error;
      await child.kill();
      throw new ServerStartError(this.name, error.message, this.logFile, this.logTail());
    }
    this.#definition.onReady?.();
  }

  async kill(): Promise<void> {
    const child = this.#process;
    if (child === undefined) return;
    await child.kill();
    this.#paused = false;
  }

  pause(): void {
    if (!this.running) throw new Error(`${this.name} is not running`);
    this.#process?.signalTree("SIGSTOP");
    this.#paused = true;
  }

  resume(): void {
    this.#process?.signalTree("SIGCONT");
    this.#paused = false;
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (child === undefined || !child.running) return;
    child.signal(this.#definition.stopSignal);
    if (this.#paused) this.resume();
    const status = await child.waitExit(this.#definition.stopTimeoutMs);
    if (status === undefined) await child.kill();
    this.#paused = false;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
