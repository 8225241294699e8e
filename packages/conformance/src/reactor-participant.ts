import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Coordinator, connect, type Reactor } from "@rollcall/core";
import type { Harness } from "./harness.js";
import { type JsonLineProcess, spawnJsonLines } from "./json-line-process.js";
import { type ChildMessage, MessageLog } from "./message-log.js";
import type { SessionControl } from "./options.js";
import type { ReactorScript } from "./reactor-script.js";
import { runReactorScript } from "./reactor-script.js";

/**
 * A reactor of the `reactor` suite, as its messages tell (see `reactor-script.ts`): a real child process,
 * or — for `scope: "process"` backends — an in-process coordinator driven through `sessionControl`.
 */
export abstract class ReactorParticipant extends MessageLog {
  /** Crash: SIGKILL (in-process: the session expired, a blocked handler given up, the client closed). */
  abstract kill(): void;
  /** SIGSTOP, or `sessionControl.freeze`. */
  abstract freeze(): void;
  /** SIGCONT, or `sessionControl.thaw`. */
  abstract thaw(): void;
  /** Graceful close of the reactor and its coordinator; reports `closed`. */
  abstract close(): void;
  /** Makes sure it is gone. */
  abstract dispose(): Promise<void>;

  /** The states it reported, in order. */
  states(): string[] {
    return this.messages.filter((m) => m.type === "state").map((m) => String(m.state));
  }

  /** Whether its last reported state is `acting` or `braked` (it holds the reactor's election). */
  isActing(): boolean {
    const last = this.states().at(-1);
    return last === "acting" || last === "braked";
  }

  /** The messages of `type` it reported for the departure `key`. */
  about(type: "running" | "handled" | "failed", key: string): ChildMessage[] {
    return this.messages.filter((m) => m.type === type && m.key === key);
  }

  /** Waits until it reports that it recorded the departure `key` as handled. */
  handled(key: string, timeout: number): Promise<ChildMessage> {
    return this.waitFor((m) => m.type === "handled" && m.key === key, timeout, `handled ${key}`);
  }

  /**
   * Waits until it reports `standby` after having acted (a reactor that lost its election): its first
   * `standby`, before it ever acted, does not count.
   */
  backToStandby(timeout: number): Promise<ChildMessage> {
    return this.waitFor(
      (m) => {
        if (m.type !== "state" || m.state !== "standby") return false;
        const index = this.messages.indexOf(m);
        return this.messages
          .slice(0, index)
          .some((e) => e.type === "state" && (e.state === "acting" || e.state === "braked"));
      },
      timeout,
      "standby after acting",
    );
  }
}

const script = fileURLToPath(new URL("./reactor-process.js", import.meta.url));

/** A reactor in a child process. */
export class ChildReactor extends ReactorParticipant {
  private readonly process: ChildProcess;
  private readonly child: JsonLineProcess;
  private exited = false;

  constructor(config: { url: string; memberId: string; modules: string[]; script: ReactorScript }) {
    super(config.memberId);
    this.child = spawnJsonLines(script, { ROLLCALL_REACTOR_CONFIG: JSON.stringify(config) }, (message) =>
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

  kill(): void {
    if (!this.exited) this.process.kill("SIGKILL");
  }

  freeze(): void {
    this.process.kill("SIGSTOP");
  }

  thaw(): void {
    this.process.kill("SIGCONT");
  }

  close(): void {
    this.process.stdin?.write(`${JSON.stringify({ cmd: "close" })}\n`);
  }

  async dispose(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    try {
      this.process.kill("SIGCONT");
    } catch {}
    this.process.kill("SIGKILL");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** A reactor in this process, for `scope: "process"` backends. */
export class LocalReactor extends ReactorParticipant {
  private readonly died = new AbortController();
  private readonly started: Promise<{ coord: Coordinator; reactor: Reactor } | undefined>;

  constructor(
    url: string,
    memberId: string,
    script: ReactorScript,
    private readonly control: SessionControl,
  ) {
    super(memberId);
    const send = (message: Record<string, unknown>) => {
      if (!this.died.signal.aborted) this.push({ ...message, type: String(message.type), at: Date.now() });
    };
    this.started = (async () => {
      const coord = await connect(url, { memberId });
      try {
        return { coord, reactor: await runReactorScript(coord, script, send, this.died.signal) };
      } catch (error) {
        await coord.close();
        throw error;
      }
    })().catch((error: unknown) => {
      send({ type: "fatal", message: String(error) });
      return undefined;
    });
  }

  kill(): void {
    if (this.died.signal.aborted) return;
    this.control.expire(this.memberId);
    this.died.abort();
    this.gone = "was killed";
    this.wake();
    void this.started.then((started) => started?.coord.close());
  }

  freeze(): void {
    this.control.freeze(this.memberId);
  }

  thaw(): void {
    this.control.thaw(this.memberId);
  }

  close(): void {
    void this.started.then(async (started) => {
      await started?.reactor.close();
      await started?.coord.close();
      this.push({ type: "closed", at: Date.now() });
    });
  }

  async dispose(): Promise<void> {
    this.died.abort();
    try {
      this.control.thaw(this.memberId);
    } catch {}
    await (await this.started)?.coord.close();
  }
}

/**
 * Starts a reactor running `script` in the harness's current namespace: a child process, or in-process
 * when the backend's scope is `process`. The caller disposes of it.
 */
export function startReactor(h: Harness, memberId: string, script: ReactorScript): ReactorParticipant {
  if (h.characteristics.scope === "process") {
    const control = h.options.sessionControl;
    if (!control)
      throw new Error(
        `${h.options.name} has scope "process" but runConformance() was given no sessionControl`,
      );
    return new LocalReactor(h.url(), memberId, script, control);
  }
  return new ChildReactor({ url: h.url(), memberId, modules: h.options.modules ?? [], script });
}
