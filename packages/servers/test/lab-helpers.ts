import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { LabHost } from "../src/index.js";

/** Result of {@link runIn}. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node -e script` inside a lab host and collect its output (killed after `timeoutMs`). */
export function runIn(host: LabHost, script: string, timeoutMs = 10_000): Promise<RunResult> {
  const { file, args } = host.command(process.execPath, ["-e", script]);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A script that connects to host:port with a deadline and prints `connected` or `error <code>` (`error
 * TIMEOUT` on the deadline), then exits.
 */
export function connectScript(host: string, port: number, timeoutMs = 3000): string {
  return `
const s = require("net").connect({ host: ${JSON.stringify(host)}, port: ${port} });
const t = setTimeout(() => { console.log("error TIMEOUT"); process.exit(0); }, ${timeoutMs});
s.on("connect", () => { clearTimeout(t); console.log("connected"); s.destroy(); });
s.on("error", (e) => { clearTimeout(t); console.log("error " + e.code); });
`;
}

/**
 * A TCP client running inside a lab host: connects to host:port; every line written to it is sent, every line
 * received is reported; errors and close are reported as `!error <code>` / `!close`.
 */
export class HostClient {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;

  constructor(lab: LabHost, host: string, port: number) {
    const script = `
const s = require("net").connect({ host: ${JSON.stringify(host)}, port: ${port} });
s.setEncoding("utf8");
let buf = "";
s.on("connect", () => console.log("!connected"));
s.on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\\n")) >= 0) { console.log(buf.slice(0, i)); buf = buf.slice(i + 1); } });
s.on("error", (e) => console.log("!error " + e.code));
s.on("close", () => { console.log("!close"); process.exit(0); });
require("readline").createInterface({ input: process.stdin }).on("line", (l) => s.write(l + "\\n"));
`;
    const { file, args } = lab.command(process.execPath, ["-e", script]);
    this.#child = spawn(file, args, { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.#child.stdout as NodeJS.ReadableStream }).on("line", (line) =>
      this.lines.push(line),
    );
  }

  /** Process id (the node program's own: `ip netns exec` execs). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Send one line over the connection. */
  send(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
  }

  /** Kill the client. */
  kill(): void {
    this.#child.kill("SIGKILL");
  }
}
