import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Coordinator, connect } from "@rollcall/core";
import type { ConfigScript, RunningConfigScript } from "./config-script.js";
import { startConfigScript } from "./config-script.js";
import type { Harness } from "./harness.js";
import { type JsonLineProcess, spawnJsonLines } from "./json-line-process.js";
import { type ChildMessage, MessageLog } from "./message-log.js";
import type { SessionControl } from "./options.js";

/**
 * A writer of the `config` suite: a real child process, or — for `scope: "process"` backends, whose
 * server lives in the test process — an in-process coordinator. It reports `ready`, runs its
 * {@link ConfigScript} on {@link go}, and reports each write (see `config-script.ts`).
 */
export interface ConfigWriter extends MessageLog {
  /** Runs the script. */
  go(): void;
  /** Graceful close: the coordinator closes (and the process exits); reports `closed`. */
  close(): void;
  /**
   * Crash: SIGKILL, so the session expires on the server after its timeout (in-process: the session is
   * expired through `sessionControl`, the coordinator left as it is).
   */
  kill(): void;
  /** Makes sure it is gone. */
  dispose(): Promise<void>;
}

/** Waits for the writer's `done`; a reported `error` or `fatal` fails it with the writer's words. */
export async function writerDone(writer: ConfigWriter, timeout: number): Promise<ChildMessage> {
  const message = await writer.waitFor(
    (m) => m.type === "done" || m.type === "error" || m.type === "fatal",
    timeout,
    "done",
  );
  if (message.type !== "done")
    throw new Error(`writer ${writer.memberId} failed: ${String(message.message)}`);
  return message;
}

const script = fileURLToPath(new URL("./config-process.js", import.meta.url));

/** A writer in a child process. */
export class ChildConfigWriter extends MessageLog implements ConfigWriter {
  private readonly process: ChildProcess;
  private readonly child: JsonLineProcess;
  private exited = false;

  constructor(config: { url: string; memberId: string; modules: string[]; script: ConfigScript }) {
    super(config.memberId);
    this.child = spawnJsonLines(script, { ROLLCALL_CONFIG_WRITER: JSON.stringify(config) }, (message) =>
      this.push(message as unknown as ChildMessage),
    );
    this.process = this.child.process;
    this.process.on("exit", (code, signal) => {
      this.exited = true;
      if (!this.messages.some((m) => m.type === "closed")) this.gone = `exited (${signal ?? code})`;
      this.wake();
    });
  }

  protected override details(): string {
    return `; stderr: ${this.child.output().slice(-1500)}`;
  }

  private command(cmd: string): void {
    this.process.stdin?.write(`${JSON.stringify({ cmd })}\n`);
  }

  go(): void {
    this.command("go");
  }

  close(): void {
    this.command("close");
  }

  kill(): void {
    if (!this.exited) this.process.kill("SIGKILL");
  }

  async dispose(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.kill("SIGKILL");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** A writer in this process, for `scope: "process"` backends. */
export class LocalConfigWriter extends MessageLog implements ConfigWriter {
  private readonly started: Promise<{ coord: Coordinator; running: RunningConfigScript } | undefined>;

  constructor(
    url: string,
    memberId: string,
    script: ConfigScript,
    private readonly control: SessionControl,
  ) {
    super(memberId);
    const send = (message: Record<string, unknown>) =>
      this.push({ ...message, type: String(message.type), at: Date.now() });
    this.started = (async () => {
      const coord = await connect(url, { memberId });
      try {
        return { coord, running: await startConfigScript(coord, script, send) };
      } catch (error) {
        await coord.close();
        throw error;
      }
    })().catch((error: unknown) => {
      send({ type: "fatal", message: String(error) });
      return undefined;
    });
  }

  go(): void {
    void this.started.then((started) => started?.running.go());
  }

  close(): void {
    void this.started.then(async (started) => {
      await started?.coord.close();
      this.push({ type: "closed", at: Date.now() });
    });
  }

  kill(): void {
    this.control.expire(this.memberId);
  }

  async dispose(): Promise<void> {
    await (await this.started)?.coord.close();
  }
}

/**
 * Starts a writer running `script` in the harness's current namespace: a child process, or in-process
 * when the backend's scope is `process`. The caller disposes of it.
 */
export function startConfigWriter(h: Harness, memberId: string, script: ConfigScript): ConfigWriter {
  if (h.characteristics.scope === "process") {
    const control = h.options.sessionControl;
    if (!control)
      throw new Error(
        `${h.options.name} has scope "process" but runConformance() was given no sessionControl`,
      );
    return new LocalConfigWriter(h.url(), memberId, script, control);
  }
  return new ChildConfigWriter({ url: h.url(), memberId, modules: h.options.modules ?? [], script });
}
