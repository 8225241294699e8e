import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitForMatch } from "@rollcall/conformance";
import { type Coordinator, type MembershipEvent, parseUrl } from "@rollcall/core";
import type { DriverEvent, SessionListener, WatchListener } from "@rollcall/core/driver";

/** A short random id, usable as a namespace, group name or member id. */
export function randomId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** The server's URL with a fresh namespace and the given options. */
export function urlFor(base: string, params: Record<string, string | number> = {}): string {
  const all = { namespace: randomId("ns"), sessionTimeout: 2000, ...params };
  const query = Object.entries(all)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join("&");
  return `${base}${base.includes("?") ? "&" : "?"}${query}`;
}

/** Polls `check` until it holds or `timeout` ms pass. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeout: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records a coordinator's watch of a group, each event with the wall-clock time it arrived. */
export class Recorder {
  readonly events: { event: MembershipEvent; at: number }[] = [];
  private readonly controller = new AbortController();
  private readonly wakers = new Set<() => void>();

  constructor(coord: Coordinator, group: string) {
    void (async () => {
      for await (const event of coord.watch(group, { signal: this.controller.signal })) {
        this.events.push({ event, at: Date.now() });
        for (const wake of [...this.wakers]) wake();
      }
    })();
  }

  /** Waits (up to `timeout` ms) for an event matching `predicate`, seen before or after the call. */
  waitFor(
    predicate: (event: MembershipEvent, at: number) => boolean,
    timeout: number,
  ): Promise<{ event: MembershipEvent; at: number }> {
    return waitForMatch(
      this.wakers,
      () => this.events.find((e) => predicate(e.event, e.at)),
      timeout,
      () =>
        `no matching event within ${timeout} ms; got ${JSON.stringify(this.events.map((e) => describe(e.event)))}`,
    );
  }

  stop(): void {
    this.controller.abort();
  }
}

/** A compact text for an event in failure messages. */
export function describe(event: MembershipEvent): string {
  if (event.type === "snapshot") return `snapshot[${event.members.map((m) => m.id).join(",")}]`;
  if (event.type === "leave") return `leave ${event.memberId} (${event.reason})`;
  return `${event.type} ${event.member.id}`;
}

export interface ChildMessage {
  type: string;
  at: number;
  [key: string]: unknown;
}

const fixture = fileURLToPath(new URL("./fixtures/member.mjs", import.meta.url));

/** A member in a child process (see fixtures/member.mjs). */
export class ChildMember {
  readonly messages: ChildMessage[] = [];
  private readonly child: ChildProcess;
  private readonly wakers = new Set<() => void>();
  private stderr = "";

  constructor(config: { url: string; memberId: string; groups?: string[]; election?: string }) {
    this.child = spawn(process.execPath, [fixture], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: { ...process.env, ROLLCALL_TEST_MEMBER: JSON.stringify(config) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      this.messages.push(JSON.parse(line) as ChildMessage);
      for (const wake of [...this.wakers]) wake();
    });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  waitFor(predicate: (m: ChildMessage) => boolean, timeout: number): Promise<ChildMessage> {
    return waitForMatch(
      this.wakers,
      () => this.messages.find(predicate),
      timeout,
      () => `child gave no matching message within ${timeout} ms; stderr: ${this.stderr}`,
    );
  }

  send(line: "close" | "resign"): void {
    this.child.stdin?.write(`${line}\n`);
  }

  signal(signal: "SIGKILL" | "SIGSTOP" | "SIGCONT"): void {
    this.child.kill(signal);
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGCONT");
    this.child.kill("SIGKILL");
    await exited;
  }
}

/** A driver made directly (no Coordinator), for tests of the driver contract itself. */
export function driverConfig(
  base: string,
  memberId: string,
  namespace: string,
  params: Record<string, string> = {},
) {
  const url = parseUrl(`${base}/0`);
  for (const [k, v] of Object.entries(params)) url.params.set(k, v);
  const quiet = () => {};
  return {
    url,
    memberId,
    namespace,
    sessionTimeout: 2000,
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    maxMetadataBytes: 65536,
  };
}

/** A session listener that records what the driver reports. */
export class ListenerLog implements SessionListener {
  readonly states: string[] = [];
  renewals = 0;
  state(state: "connected" | "suspended" | "expired"): void {
    this.states.push(state);
  }
  renewed(): void {
    this.renewals++;
  }
}

/** A watch listener that records events and resyncs. */
export class WatchLog implements WatchListener {
  readonly events: DriverEvent[] = [];
  readonly resyncs: string[] = [];
  event(event: DriverEvent): void {
    this.events.push(event);
  }
  resync(reason: string): void {
    this.resyncs.push(reason);
  }
  get summary(): string[] {
    return this.events.map((e) =>
      e.type === "leave" ? `leave ${e.memberId} ${e.reason}` : `${e.type} ${e.member.id}`,
    );
  }
}
