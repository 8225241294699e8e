import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  type Coordinator,
  connect,
  type Leadership,
  type Member,
  type MembershipEvent,
} from "@rollcall/core";
import type { LabHost } from "@rollcall/servers";
import { type JsonLineProcess, spawnJsonLines } from "./json-line-process.js";
import { type ChildMessage, MessageLog } from "./message-log.js";
import { observeDriverReports, observedUrl } from "./observed-backend.js";
import type { SessionControl } from "./options.js";
import { reportWhenCandidate } from "./report-candidacy.js";

/** What a participant of the stall checks does once connected. */
export interface StallScript {
  /** A group to watch: every event is reported as a `watch` message carrying a {@link ReportedEvent}. */
  watch?: string;
  /** An election to campaign in, again after each leadership ends (`campaigning`, `elected`, `deposed`). */
  campaign?: string;
}

/** A member as a participant reports it (JSON-safe: `seq` as a decimal string). */
export interface ReportedMember {
  id: string;
  seq: string;
  metadata: unknown;
}

/** A watch event as a participant reports it. */
export interface ReportedEvent {
  type: MembershipEvent["type"];
  /** Every member of a snapshot. */
  members?: ReportedMember[];
  /** The member of a join or update. */
  member?: ReportedMember;
  /** The member id of a leave. */
  memberId?: string;
}

function reported(member: Member): ReportedMember {
  return { id: member.id, seq: String(member.seq), metadata: member.metadata };
}

function reportedEvent(event: MembershipEvent): ReportedEvent {
  switch (event.type) {
    case "snapshot":
      return { type: "snapshot", members: event.members.map(reported) };
    case "leave":
      return { type: "leave", memberId: event.memberId };
    default:
      return { type: event.type, member: reported(event.member) };
  }
}

/**
 * Reports (as `blocked`, with `ms`) every time this thread's event loop was held up for more than 250 ms,
 * until the returned function is called.
 */
function watchEventLoop(send: (message: Record<string, unknown>) => void): () => void {
  const period = 50;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - period;
    last = now;
    if (late > 250) send({ type: "blocked", ms: Math.round(late) });
  }, period);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs a {@link StallScript} on a connected coordinator, reporting through `send`: `session` (state,
 * previous), `watch` (event), `watch-error`, `campaigning`, `elected` (token, electedAt), `deposed` (token,
 * endedAt: when its validity really ended, valid: `isValid()` at the abort), `blocked` (ms: the event loop
 * was held up that long, just now) and, once the script runs, `ready`.
 * Returns a function that stops campaigning and reporting a blocked event loop.
 */
export async function runStallScript(
  coord: Coordinator,
  script: StallScript,
  send: (message: Record<string, unknown>) => void,
): Promise<() => void> {
  coord.on("session", (state, previous) => send({ type: "session", state, previous }));
  const stopWatchingLoop = watchEventLoop(send);
  if (script.watch !== undefined) {
    const group = script.watch;
    await new Promise<void>((started) => {
      void (async () => {
        try {
          for await (const event of coord.watch(group)) {
            send({ type: "watch", event: reportedEvent(event) });
            started();
          }
        } catch (error) {
          send({ type: "watch-error", message: String(error) });
          started();
        }
      })();
    });
  }
  let stopped = false;
  if (script.campaign !== undefined) {
    const election = coord.election(script.campaign);
    reportWhenCandidate(election, coord.memberId, () => stopped, send);
    void (async () => {
      while (!stopped) {
        let leadership: Leadership;
        try {
          leadership = await election.campaign();
        } catch (error) {
          if (stopped) return;
          send({ type: "campaign-error", message: String(error) });
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const token = String(leadership.token);
        send({ type: "elected", token, electedAt: leadership.electedAt.getTime() });
        await new Promise<void>((resolve) => {
          if (leadership.signal.aborted) resolve();
          else leadership.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        send({
          type: "deposed",
          token,
          endedAt: leadership.validUntil.getTime(),
          valid: leadership.isValid(),
        });
      }
    })();
  }
  send({ type: "ready", sessionTimeout: coord.sessionTimeout });
  return () => {
    stopped = true;
    stopWatchingLoop();
  };
}

/**
 * Connects `memberId` through the observing twin of `url`'s backend (so its driver's own reports arrive as
 * `driver` messages: `report: "state"` with `state`, `report: "renewed"` with `sentAt`) and runs `script`.
 */
export async function startStallScript(
  url: string,
  memberId: string,
  script: StallScript,
  send: (message: Record<string, unknown>) => void,
): Promise<{ coord: Coordinator; stop: () => void; unobserve: () => void }> {
  const unobserve = observeDriverReports(memberId, (report) => send({ type: "driver", ...report }));
  try {
    const coord = await connect(await observedUrl(url), { memberId });
    const stop = await runStallScript(coord, script, send);
    return { coord, stop, unobserve };
  } catch (error) {
    unobserve();
    throw error;
  }
}

/** A participant of the stall checks: a real process, or (for `scope: "process"` backends) in-process. */
export interface StallParticipant extends MessageLog {
  /** The network-lab host it runs in, if any. */
  readonly host: LabHost | undefined;
  /** SIGSTOP, or the in-process equivalent. */
  freeze(): void;
  /** SIGCONT, or the in-process equivalent. */
  thaw(): void;
  /** Makes sure it is gone. */
  dispose(): Promise<void>;
}

/** An in-process participant, frozen and cut off through the backend's {@link SessionControl}. */
export class LocalStallMember extends MessageLog implements StallParticipant {
  readonly host = undefined;
  private running: Promise<{ coord: Coordinator; stop: () => void; unobserve: () => void } | undefined>;

  constructor(
    url: string,
    memberId: string,
    script: StallScript,
    private readonly control: SessionControl,
  ) {
    super(memberId);
    const send = (message: Record<string, unknown>) =>
      this.push({ ...message, type: String(message.type), at: Date.now() });
    this.running = startStallScript(url, memberId, script, send).catch((error: unknown) => {
      send({ type: "fatal", message: String(error) });
      return undefined;
    });
  }

  freeze(): void {
    this.control.freeze(this.memberId);
  }

  thaw(): void {
    this.control.thaw(this.memberId);
  }

  async dispose(): Promise<void> {
    const running = await this.running;
    if (!running) return;
    running.stop();
    try {
      this.control.thaw(this.memberId);
      this.control.reconnect?.(this.memberId);
    } catch {}
    await running.coord.close();
    running.unobserve();
  }
}

/** What a {@link ChildStallMember} process runs (sent to it as JSON). */
export interface StallProcessConfig {
  url: string;
  memberId: string;
  /** Modules the process imports before connecting (a backend package), resolved from the cwd. */
  modules: string[];
  script: StallScript;
}

const processScript = fileURLToPath(new URL("./stall-process.js", import.meta.url));

/** A participant in a real child process (with `host`, inside that network-lab host). */
export class ChildStallMember extends MessageLog implements StallParticipant {
  private readonly process: ChildProcess;
  private readonly child: JsonLineProcess;
  private exited = false;

  constructor(
    config: StallProcessConfig,
    readonly host: LabHost | undefined,
  ) {
    super(config.memberId);
    this.child = spawnJsonLines(
      processScript,
      { ROLLCALL_STALL_CONFIG: JSON.stringify(config) },
      (message) => this.push(message as unknown as ChildMessage),
      host,
    );
    this.process = this.child.process;
    this.process.on("exit", (code, signal) => {
      this.exited = true;
      this.gone = `exited (${signal ?? code})`;
      this.wake();
    });
  }

  protected override details(): string {
    return `; stderr: ${this.child.output().slice(-1500)}`;
  }

  freeze(): void {
    this.process.kill("SIGSTOP");
  }

  thaw(): void {
    this.process.kill("SIGCONT");
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
