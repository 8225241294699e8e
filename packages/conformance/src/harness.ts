import { randomBytes } from "node:crypto";
import { type Characteristics, type Coordinator, connect, type MembershipEvent } from "@rollcall/core";
import type { LabHost } from "@rollcall/servers";
import { ChildMember } from "./child-member.js";
import { LocalMember } from "./local-member.js";
import type { MemberScript } from "./member-script.js";
import type { Participant } from "./message-log.js";
import type { ConformanceOptions, ConformanceTarget } from "./options.js";
import { waitForMatch } from "./wait-for-match.js";

/** A short random id, safe as a group name, member id or namespace. */
export function randomId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

/** Appends query parameters to a URL that may already have some. */
export function withParams(url: string, params: Record<string, string | number>): string {
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join("&");
  return url.includes("?") ? `${url}&${query}` : `${url}?${query}`;
}

/** Polls `check` until it returns true or `timeout` ms pass; then throws with `what`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeout: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Records a watch's events and lets a test wait for one. */
export class EventRecorder {
  readonly events: MembershipEvent[] = [];
  private readonly controller = new AbortController();
  private readonly wakers = new Set<() => void>();
  readonly done: Promise<void>;
  failure: unknown;

  constructor(coord: Coordinator, group: string) {
    this.done = (async () => {
      try {
        for await (const event of coord.watch(group, { signal: this.controller.signal })) {
          this.events.push(event);
          for (const wake of [...this.wakers]) wake();
        }
      } catch (error) {
        this.failure = error;
        for (const wake of [...this.wakers]) wake();
      }
    })();
  }

  /** Waits for an event matching `predicate` (already seen or future). */
  waitFor(
    predicate: (event: MembershipEvent) => boolean,
    timeout: number,
    what: string,
  ): Promise<MembershipEvent> {
    return waitForMatch(
      this.wakers,
      () => this.events.find(predicate),
      timeout,
      () => `no ${what} within ${timeout} ms; events: ${JSON.stringify(this.events.map(summary))}`,
      () => this.failure,
    );
  }

  /** The member ids the events add up to (snapshots replace, joins add, leaves remove). */
  ids(): Set<string> {
    const ids = new Set<string>();
    for (const event of this.events) {
      if (event.type === "snapshot") {
        ids.clear();
        for (const m of event.members) ids.add(m.id);
      } else if (event.type === "join") ids.add(event.member.id);
      else if (event.type === "leave") ids.delete(event.memberId);
    }
    return ids;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** A compact form of an event for failure messages. */
export function summary(event: MembershipEvent): string {
  switch (event.type) {
    case "snapshot":
      return `snapshot[${event.members.map((m) => m.id).join(",")}]`;
    case "leave":
      return `leave ${event.memberId} (${event.reason})`;
    default:
      return `${event.type} ${event.member.id}`;
  }
}

/**
 * Per-suite helpers: fresh namespaced URLs, coordinators and member processes that are cleaned up
 * after every test.
 */
export class Harness {
  target: ConformanceTarget | undefined;
  /** The backend's declared characteristics, read in `beforeAll`. */
  characteristics!: Characteristics;
  private namespace = randomId("ns");
  private readonly coordinators: Coordinator[] = [];
  private readonly children: Participant[] = [];
  private readonly recorders: EventRecorder[] = [];
  readonly sessionTimeout: number;
  readonly detectionSlack: number;
  readonly eventTimeout: number;

  constructor(readonly options: ConformanceOptions) {
    this.sessionTimeout = options.timing?.sessionTimeout ?? 2000;
    this.detectionSlack = options.timing?.detectionSlack ?? this.sessionTimeout;
    this.eventTimeout = options.timing?.eventTimeout ?? 10_000;
  }

  /** The bound within which a crashed member must be seen to leave. */
  get detectionBound(): number {
    return this.sessionTimeout + this.detectionSlack;
  }

  /** Starts a fresh namespace: tests never see each other's groups. */
  freshNamespace(): void {
    this.namespace = randomId("ns");
  }

  /** The URL of the current namespace, with extra query parameters. */
  url(extra: Record<string, string | number> = {}): string {
    if (!this.target) throw new Error("the conformance target is not set up");
    return withParams(this.target.url, {
      namespace: this.namespace,
      sessionTimeout: this.sessionTimeout,
      ...extra,
    });
  }

  /** A connected coordinator, closed after the test. */
  async coordinator(
    memberId = randomId("m"),
    extra: Record<string, string | number> = {},
  ): Promise<Coordinator> {
    const coord = await connect(this.url(extra), { memberId });
    this.coordinators.push(coord);
    return coord;
  }

  /** Records a watch on `group`, stopped after the test. */
  record(coord: Coordinator, group: string): EventRecorder {
    const recorder = new EventRecorder(coord, group);
    this.recorders.push(recorder);
    return recorder;
  }

  /**
   * A member that can be crashed, frozen and closed: a real child process, or — for backends whose
   * scope is `process` — an in-process member driven through `sessionControl`. With `host`, the process
   * runs in that network-lab host. Disposed after the test.
   */
  participant(
    memberId: string,
    script: MemberScript,
    scope: "process" | "host" | "cluster",
    host?: LabHost,
  ): Participant {
    let member: Participant;
    if (scope === "process") {
      const control = this.options.sessionControl;
      if (!control)
        throw new Error(
          `${this.options.name} has scope "process" but runConformance() was given no sessionControl`,
        );
      member = new LocalMember(this.url(), memberId, script, control);
    } else {
      member = new ChildMember({
        url: this.url(),
        memberId,
        modules: this.options.modules ?? [],
        ...script,
        ...(host ? { host } : {}),
      });
    }
    this.children.push(member);
    return member;
  }

  /** Reads the backend's characteristics from a probe coordinator on the target (once it is set up). */
  async probeCharacteristics(): Promise<void> {
    const probe = await connect(this.url(), { memberId: randomId("probe") });
    this.characteristics = probe.characteristics as Characteristics;
    await probe.close();
  }

  /** Cleans up everything the test created. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.recorders.splice(0).map((r) => r.stop()));
    await Promise.allSettled(this.children.splice(0).map((c) => c.dispose()));
    await Promise.allSettled(this.coordinators.splice(0).map((c) => c.close()));
  }
}
