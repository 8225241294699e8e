import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

/** A running `rollcall` process whose output lines are collected. */
export class Running {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  private readonly wakers = new Set<() => void>();

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.lines.push(line);
        for (const wake of [...this.wakers]) wake();
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))),
    );
  }

  /** Waits for an output line matching `pattern`. */
  waitFor(pattern: RegExp, timeout = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find((l) => pattern.test(l));
        if (found !== undefined) {
          done();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`no line matching ${pattern} within ${timeout} ms; output:\n${this.lines.join("\n")}`),
        );
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(check);
      };
      this.wakers.add(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    this.child.kill(signal);
  }
}

/** Runs `rollcall` to completion. */
export async function rollcall(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

/** Whether a process id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` holds. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeout = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
