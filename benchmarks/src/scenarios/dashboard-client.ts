import { type ClientRequest, get, type IncomingMessage } from "node:http";
import { now } from "../clock.js";

/** A join or leave the client received for the group it records, with when. */
export interface StreamArrival {
  type: "join" | "leave";
  memberId: string;
  /** The member's `seq` (a leave: the seq the client held for it; `""` if it held none). */
  seq: string;
  /** When the dashboard server saw the change (its `at`, epoch ms). */
  serverAt: number;
  /** When the event arrived here (host clock, `now()`). */
  arrivedAt: number;
}

interface WireMemberLike {
  id: string;
  seq: string;
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/**
 * A client of the dashboard's event stream (`<base>/events`, the endpoint the page's `EventSource`
 * reads), reading it as the page does: a snapshot, then batches of deltas (each SSE event a JSON array).
 * It keeps the page's model of every group (member id → seq) and, for one chosen group, the arrival
 * time of every join and leave. When the stream ends (the server drops a client that fell
 * `maxBufferedBytes` behind) it reconnects after the stream's `retry` (1 s), as the browser does, to a
 * fresh snapshot, and counts the drop.
 */
export class DashboardClient {
  /** Group name → member id → seq, as the page would hold it. */
  readonly groups = new Map<string, Map<string, string>>();
  readonly arrivals: StreamArrival[] = [];
  /** Streams opened, streams that ended without being asked to, resync snapshots of a group, bytes. */
  connects = 0;
  drops = 0;
  resyncs = 0;
  bytes = 0;
  private recording: string | undefined;
  private request: ClientRequest | undefined;
  private closed = false;
  private retryMs = 1000;
  private readonly waiters = new Set<Waiter>();
  private firstSnapshot: (() => void) | undefined;
  private lastError: string | undefined;

  constructor(private readonly eventsUrl: string) {}

  /** Opens the stream; resolves once the first snapshot arrived. */
  async connect(timeoutMs: number): Promise<void> {
    const snapshot = new Promise<void>((resolve) => {
      this.firstSnapshot = resolve;
    });
    this.open();
    await this.within(snapshot, timeoutMs, "no snapshot on the event stream");
  }

  /** Records arrivals of joins and leaves of `group` from now on. */
  record(group: string): void {
    this.recording = group;
  }

  /** The client's model of a group: member id → seq (undefined until the dashboard has the group). */
  group(name: string): ReadonlyMap<string, string> | undefined {
    return this.groups.get(name);
  }

  /** Resolves once `check()` holds after some batch (or now); rejects after `timeoutMs`, saying `what`. */
  async waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return;
    let waiter: Waiter | undefined;
    const done = new Promise<void>((resolve) => {
      waiter = { check, resolve };
      this.waiters.add(waiter);
    });
    try {
      await this.within(done, timeoutMs, what);
    } finally {
      if (waiter) this.waiters.delete(waiter);
    }
  }

  /** Ends the stream for good. */
  close(): void {
    this.closed = true;
    this.request?.destroy();
    this.waiters.clear();
  }

  private async within(promise: Promise<void>, timeoutMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `${what} within ${timeoutMs} ms (streams opened ${this.connects}, dropped ${this.drops}${this.lastError ? `; last error: ${this.lastError}` : ""})`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private open(): void {
    if (this.closed) return;
    this.connects++;
    let buffer = "";
    let ended = false;
    const reconnect = (why: string) => {
      if (ended) return;
      ended = true;
      if (this.closed) return;
      this.drops++;
      this.lastError = why;
      setTimeout(() => this.open(), this.retryMs).unref();
    };
    const request = get(
      this.eventsUrl,
      { headers: { accept: "text/event-stream" } },
      (response: IncomingMessage) => {
        if (response.statusCode !== 200) {
          response.resume();
          reconnect(`HTTP ${response.statusCode}`);
          return;
        }
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          const arrivedAt = now();
          this.bytes += Buffer.byteLength(chunk);
          buffer += chunk;
          let end = buffer.indexOf("\n\n");
          while (end !== -1) {
            this.onEvent(buffer.slice(0, end), arrivedAt);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf("\n\n");
          }
          for (const waiter of [...this.waiters]) {
            if (waiter.check()) {
              this.waiters.delete(waiter);
              waiter.resolve();
            }
          }
        });
        response.on("end", () => reconnect("the stream ended"));
        response.on("error", (error) => reconnect(error.message));
      },
    );
    request.on("error", (error) => reconnect(error.message));
    this.request = request;
  }

  private onEvent(block: string, arrivedAt: number): void {
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      else if (line.startsWith("retry:")) this.retryMs = Number(line.slice(6).trim()) || this.retryMs;
    }
    if (data.length === 0) return; // a keep-alive comment
    const messages = JSON.parse(data.join("\n")) as Record<string, unknown>[];
    for (const message of messages) this.apply(message, arrivedAt);
  }

  private apply(m: Record<string, unknown>, arrivedAt: number): void {
    const members = (list: unknown) =>
      new Map((list as WireMemberLike[]).map((member) => [member.id, member.seq] as [string, string]));
    switch (m.type) {
      case "snapshot":
        this.groups.clear();
        for (const g of m.groups as { name: string; members: WireMemberLike[] }[])
          this.groups.set(g.name, members(g.members));
        this.firstSnapshot?.();
        this.firstSnapshot = undefined;
        return;
      case "group-added": {
        const g = m.group as { name: string; members: WireMemberLike[] };
        this.groups.set(g.name, members(g.members));
        return;
      }
      case "group-removed":
        this.groups.delete(m.name as string);
        return;
      case "group-snapshot":
        this.resyncs++;
        this.groups.set(m.name as string, members(m.members));
        return;
      case "join":
      case "update": {
        const member = m.member as WireMemberLike;
        const group = m.group as string;
        this.groups.get(group)?.set(member.id, member.seq);
        if (m.type === "join" && group === this.recording) {
          this.arrivals.push({
            type: "join",
            memberId: member.id,
            seq: member.seq,
            serverAt: m.at as number,
            arrivedAt,
          });
        }
        return;
      }
      case "leave": {
        const group = m.group as string;
        const memberId = m.memberId as string;
        const model = this.groups.get(group);
        const seq = model?.get(memberId) ?? "";
        model?.delete(memberId);
        if (group === this.recording)
          this.arrivals.push({ type: "leave", memberId, seq, serverAt: m.at as number, arrivedAt });
        return;
      }
    }
  }
}
