import { runCli } from "../src/index.js";

/**
 * `rollcall …` run by {@link runCli} in this process: the same code as the binary, for backends whose
 * state lives in the process (`memory://`). Lines of stdout and stderr are collected as they come.
 */
export class InProcessCli {
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly exited: Promise<number>;
  private readonly stopper = new AbortController();
  private readonly wakers = new Set<() => void>();

  constructor(argv: string[]) {
    const line = (into: string[]) => (text: string) => {
      into.push(...text.split("\n"));
      for (const wake of [...this.wakers]) wake();
    };
    this.exited = runCli(argv, {
      out: line(this.out),
      err: line(this.err),
      env: {},
      stop: this.stopper.signal,
    });
  }

  /** Waits, up to `timeout` ms, until `count` stdout lines match `pattern`; resolves with them. */
  waitFor(pattern: RegExp, count = 1, timeout = 10_000): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.out.filter((l) => pattern.test(l));
        if (found.length >= count) {
          done();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no ${count} lines matching ${pattern} within ${timeout} ms; stdout:\n${this.out.join("\n")}\nstderr:\n${this.err.join("\n")}`,
          ),
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

  /** What SIGINT does to the binary. */
  stop(): void {
    this.stopper.abort();
  }
}

/** Runs `rollcall …` in this process to completion. */
export async function rollcallHere(
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = new InProcessCli(argv);
  const code = await cli.exited;
  return { code, stdout: cli.out.join("\n"), stderr: cli.err.join("\n") };
}
