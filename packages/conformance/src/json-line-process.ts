import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { LabHost } from "@rollcall/servers";

/** A kit helper process that reports JSON lines on stdout; see {@link spawnJsonLines}. */
export interface JsonLineProcess {
  readonly process: ChildProcess;
  /** The last 4,000 characters of its stderr and of stdout lines that were not JSON, for failure messages. */
  output(): string;
}

/**
 * Starts `node <script>` (in a network-lab host when given) with `env` added to this process's
 * environment, and hands every JSON line it writes on stdout to `onMessage`. Used for member, stall and
 * watcher processes alike.
 */
export function spawnJsonLines(
  script: string,
  env: Record<string, string>,
  onMessage: (message: Record<string, unknown>) => void,
  host?: LabHost,
): JsonLineProcess {
  const argv = host ? host.command(process.execPath, [script]) : { file: process.execPath, args: [script] };
  const child = spawn(argv.file, argv.args, {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      output = `${output}${line}\n`.slice(-4000);
      return;
    }
    onMessage(message);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  return { process: child, output: () => output };
}
