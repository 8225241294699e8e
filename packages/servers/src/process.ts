import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { janitor } from "./janitor.js";
import { isAlive, signalTree } from "./process-tree.js";
import { sleep } from "./wait.js";

/** How to run a program. */
export interface ProcessSpec {
  /** Absolute path of the program. */
  command: string;
  /** Its arguments. */
  args: readonly string[];
  /** Working directory. */
  cwd?: string;
  /** Complete environment (not merged with the parent's). */
  env?: NodeJS.ProcessEnv;
  /** Run as this user id (the parent must be root). */
  uid?: number;
  /** Run as this group id (the parent must be root). */
  gid?: number;
  /** File that receives stdout and stderr (appended). */
  logFile: string;
  /** Strings (passwords) replaced by `***` where the command line is written to the log. */
  secrets?: readonly string[];
}

/** The command line as written to the log: every secret replaced by `***`. */
function redactedCommandLine(spec: ProcessSpec): string {
  let line = `${spec.command} ${spec.args.join(" ")}`;
  for (const secret of spec.secrets ?? []) if (secret !== "") line = line.split(secret).join("***");
  return line;
}

/** How a process ended. */
export interface ExitStatus {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** The killing signal, or null. */
  signal: NodeJS.Signals | null;
}

/** Human-readable form of an {@link ExitStatus}. */
export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exited with code ${status.code}`;
}

/**
 * A child process in its own session (so terminal signals do not reach it), with stdout and stderr appended
 * to a log file, registered with the watchdog for as long as it lives, and not keeping the event loop alive.
 */
export class ManagedProcess {
  /** The process id. */
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  readonly #child: ChildProcess;
  #status: ExitStatus | undefined;

  private constructor(child: ChildProcess, pid: number, exited: Promise<ExitStatus>) {
    this.#child = child;
    this.pid = pid;
    this.exited = exited.then((status) => {
      this.#status = status;
      return status;
    });
  }

  /** How the process ended, or undefined while it runs. */
  get status(): ExitStatus | undefined {
    return this.#status;
  }

  /** Whether the process has not exited yet. */
  get running(): boolean {
    return this.#status === undefined;
  }

  /**
   * Start a program.
   *
   * @throws when it cannot be executed (missing, not executable).
   */
  static async spawn(spec: ProcessSpec): Promise<ManagedProcess> {
    appendFileSync(spec.logFile, `--- rollcall-servers: ${redactedCommandLine(spec)}\n`);
    const fd = openSync(spec.logFile, "a");
    try {
      const child = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        env: spec.env,
        uid: spec.uid,
        gid: spec.gid,
        detached: true,
        stdio: ["ignore", fd, fd],
      });
      const pid = child.pid;
      if (pid !== undefined) janitor.trackPid(pid);
      const exited = new Promise<ExitStatus>((resolve) => {
        child.once("exit", (code, signal) => {
          if (pid !== undefined) janitor.untrackPid(pid);
          resolve({ code, signal });
        });
      });
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
      child.unref();
      if (pid === undefined) throw new Error(`cannot start ${spec.command}`);
      return new ManagedProcess(child, pid, exited);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Signal the process and every process it started.
   *
   * @returns the pids that were signalled.
   */
  signalTree(signal: NodeJS.Signals): number[] {
    if (!this.running) return [];
    return signalTree(this.pid, signal);
  }

  /** Signal only the main process. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /**
   * SIGKILL the process and its descendants; resolves when all of them are gone.
   */
  async kill(): Promise<void> {
    const victims = this.signalTree("SIGKILL");
    await this.#waitExited();
    const deadline = Date.now() + 10_000;
    while (victims.some(isAlive) && Date.now() < deadline) await sleep(10);
  }

  /**
   * Resolve with the exit status if the process exits within `ms`, else with undefined.
   */
  async waitExit(ms: number): Promise<ExitStatus | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([this.#waitExited(), timeout]);
    } finally {
      clearTimeout(timer);
      this.#child.unref();
    }
  }

  /** Wait for the exit, keeping the event loop alive meanwhile (the child is normally unref'd). */
  async #waitExited(): Promise<ExitStatus> {
    this.#child.ref();
    try {
      return await this.exited;
    } finally {
      this.#child.unref();
    }
  }
}
