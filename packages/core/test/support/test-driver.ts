import type { Characteristics } from "../../src/characteristics.js";
import type {
  Driver,
  DriverConfig,
  DriverEvent,
  GroupSnapshot,
  SessionListener,
  WatchHandle,
  WatchListener,
} from "../../src/driver/driver.js";
import { RollcallError } from "../../src/errors/rollcall-error.js";
import type { Member, Metadata } from "../../src/types.js";

/**
 * A driver whose session a test steers by hand: `suspend()`, `resume()`, `expire()`, `renew()`.
 * Groups live in a shared {@link TestServer}, so several coordinators can be tested together.
 * Renewals are only sent when the test calls `renew()` (or with `autoRenew`).
 */
export class TestServer {
  groups = new Map<string, Map<string, { member: Member; session: number }>>();
  listeners = new Map<string, Set<(e: DriverEvent) => void>>();
  revision = 0n;
  private nextSession = 1;

  session(): number {
    return this.nextSession++;
  }

  emit(group: string, event: DriverEvent): void {
    for (const l of this.listeners.get(group) ?? []) queueMicrotask(() => l(event));
  }

  dropSession(session: number, reason: "left" | "expired"): void {
    for (const [group, members] of this.groups) {
      for (const [id, entry] of members) {
        if (entry.session === session) {
          members.delete(id);
          this.emit(group, { type: "leave", memberId: id, reason, revision: ++this.revision });
        }
      }
    }
  }
}

export class TestDriver implements Driver {
  characteristics: Characteristics = {
    scope: "process",
    liveness: "session",
    watch: "push",
    leaveReason: true,
    consistency: "linearizable",
    config: "none",
  };
  sessionTimeout: number;
  listener: SessionListener | undefined;
  session = 0;
  opens = 0;
  failOpens = 0;
  closed = false;
  expired = false;
  /** While set, writes fail with `CONNECTION` after the server applied them (a lost answer) or before. */
  failWrites: "before" | "after" | undefined;
  /** Calls of `members()`, for tests that count rounds. */
  membersCalls = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly server: TestServer,
    config: DriverConfig,
    private readonly autoRenew = true,
  ) {
    this.sessionTimeout = config.sessionTimeout;
  }

  async open(listener: SessionListener): Promise<void> {
    this.opens++;
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new RollcallError("CONNECTION", "test: open refused");
    }
    this.listener = listener;
    this.expired = false;
    this.session = this.server.session();
    clearInterval(this.timer);
    if (this.autoRenew) {
      this.timer = setInterval(() => this.renew(), Math.max(5, this.sessionTimeout / 3));
      this.timer.unref();
    }
  }

  renew(): void {
    this.listener?.renewed(performance.now());
  }

  suspend(): void {
    this.listener?.state("suspended");
  }

  resume(): void {
    this.listener?.state("connected");
  }

  expire(): void {
    this.expired = true;
    this.server.dropSession(this.session, "expired");
    clearInterval(this.timer);
    this.listener?.state("expired");
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.server.dropSession(this.session, "left");
  }

  private alive(): void {
    if (this.expired) throw new RollcallError("SESSION_EXPIRED", "test: the session expired");
  }

  private group(name: string) {
    this.alive();
    const g = this.server.groups.get(name);
    if (!g) throw new RollcallError("GROUP_NOT_FOUND", `no group ${name}`);
    return g;
  }

  async createGroup(group: string): Promise<void> {
    this.alive();
    if (this.server.groups.has(group)) throw new RollcallError("GROUP_EXISTS", "exists");
    this.server.groups.set(group, new Map());
  }

  async deleteGroup(group: string): Promise<void> {
    if (this.group(group).size > 0) throw new RollcallError("GROUP_NOT_EMPTY", "not empty");
    this.server.groups.delete(group);
  }

  async listGroups(): Promise<string[]> {
    this.alive();
    return [...this.server.groups.keys()];
  }

  private lostAnswer(when: "before" | "after"): void {
    if (this.failWrites === when) throw new RollcallError("CONNECTION", `test: write failed (${when})`);
  }

  async join(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    this.lostAnswer("before");
    const g = this.group(group);
    const existing = g.get(memberId);
    if (existing?.session === this.session) return existing.member; // a retry of our own join
    if (existing) throw new RollcallError("MEMBER_EXISTS", "exists");
    this.joinAs(g, group, memberId, metadata);
    this.lostAnswer("after");
    return g.get(memberId)?.member as Member;
  }

  private joinAs(
    g: Map<string, { member: Member; session: number }>,
    group: string,
    memberId: string,
    metadata: Metadata,
  ): void {
    const revision = ++this.server.revision;
    const member: Member = {
      id: memberId,
      group,
      metadata,
      seq: revision,
      joinedAt: new Date(),
      updatedAt: new Date(),
    };
    g.set(memberId, { member, session: this.session });
    this.server.emit(group, { type: "join", member, revision });
  }

  async leave(group: string, memberId: string): Promise<void> {
    this.lostAnswer("before");
    const g = this.group(group);
    if (g.get(memberId)?.session !== this.session) throw new RollcallError("MEMBER_NOT_JOINED", "not joined");
    g.delete(memberId);
    this.server.emit(group, { type: "leave", memberId, reason: "left", revision: ++this.server.revision });
    this.lostAnswer("after");
  }

  async update(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    this.lostAnswer("before");
    const entry = this.group(group).get(memberId);
    if (entry?.session !== this.session) throw new RollcallError("MEMBER_NOT_JOINED", "not joined");
    entry.member = { ...entry.member, metadata, updatedAt: new Date() };
    const revision = ++this.server.revision;
    this.server.emit(group, { type: "update", member: entry.member, revision });
    return entry.member;
  }

  async members(group: string): Promise<GroupSnapshot> {
    this.membersCalls++;
    return { members: [...this.group(group).values()].map((e) => e.member), revision: this.server.revision };
  }

  async watch(group: string, _from: bigint, listener: WatchListener): Promise<WatchHandle> {
    const set = this.server.listeners.get(group) ?? new Set();
    this.server.listeners.set(group, set);
    const fn = (e: DriverEvent) => listener.event(e);
    set.add(fn);
    return { close: async () => void set.delete(fn) };
  }
}

/**
 * `awaitGone` resolves at once while `members()` still lists the predecessor: the disagreement of a
 * read a little behind a notification. Stops lying after `limit` calls, so a candidacy that spins on it
 * ends instead of hanging the test run.
 */
export class EagerGoneDriver extends TestDriver {
  awaitGoneCalls = 0;
  limit = 10_000;
  async awaitGone(_group: string, _memberId: string, signal: AbortSignal): Promise<void> {
    this.awaitGoneCalls++;
    if (this.awaitGoneCalls < this.limit) return;
    await new Promise<void>((_resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }
}

/** `awaitGone` never notices anything: only core's periodic re-check can move a candidate on. */
export class DeafGoneDriver extends TestDriver {
  async awaitGone(_group: string, _memberId: string, signal: AbortSignal): Promise<void> {
    await new Promise<void>((_resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }
}
