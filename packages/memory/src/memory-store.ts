import {
  type DriverEvent,
  type GroupSnapshot,
  groupExists,
  groupNotEmpty,
  groupNotFound,
  type LeaveReason,
  type Member,
  type Metadata,
  memberExists,
  memberNotJoined,
  sessionExpired,
} from "@rollcall/core/driver";
import { MemoryConfigStores } from "./memory-config.js";

/** How many events each group keeps for watches that resume from a revision. */
export const LOG_RETENTION = 10_000;

interface StoredMember {
  member: Member;
  sessionId: number;
}

interface StoredGroup {
  members: Map<string, StoredMember>;
  log: DriverEvent[];
  listeners: Set<(event: DriverEvent) => void>;
}

interface StoredSession {
  id: number;
  timeout: number;
  deadline: number;
  onExpired: () => void;
}

function copy(member: Member): Member {
  return {
    ...member,
    metadata: structuredClone(member.metadata),
    joinedAt: new Date(member.joinedAt),
    updatedAt: new Date(member.updatedAt),
  };
}

/**
 * The "server" of one `memory://name`: groups, members, sessions with deadlines, a revision counter
 * and a per-group event log. Shared by every coordinator of the process that uses the same name.
 */
export class MemoryStore {
  private readonly groups = new Map<string, StoredGroup>();
  private readonly sessions = new Map<number, StoredSession>();
  private revision = 0n;
  private nextSessionId = 1;
  private reaper: NodeJS.Timeout | undefined;
  /** The configuration stores: they belong to no session. */
  readonly config = new MemoryConfigStores();

  constructor(readonly name: string) {}

  private key(namespace: string, group: string): string {
    return `${namespace}\u0000${group}`;
  }

  private group(namespace: string, group: string): StoredGroup {
    const found = this.groups.get(this.key(namespace, group));
    if (!found) throw groupNotFound(group);
    return found;
  }

  /** Opens a session that expires `timeout` ms after its last touch. */
  openSession(timeout: number, onExpired: () => void): number {
    const id = this.nextSessionId++;
    this.sessions.set(id, { id, timeout, deadline: performance.now() + timeout, onExpired });
    this.armReaper();
    return id;
  }

  /** Renews a session; false if it has expired. */
  touch(sessionId: number): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    session.deadline = performance.now() + session.timeout;
    return true;
  }

  isAlive(sessionId: number): boolean {
    return this.sessions.has(sessionId);
  }

  /** Ends a session: its members leave with `reason`. */
  endSession(sessionId: number, reason: LeaveReason): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    for (const [key, group] of this.groups) {
      for (const [id, stored] of group.members) {
        if (stored.sessionId === sessionId) this.removeMember(key, group, id, reason);
      }
    }
    if (reason === "expired") session.onExpired();
  }

  private armReaper(): void {
    if (this.reaper !== undefined) return;
    this.reaper = setInterval(() => {
      const now = performance.now();
      for (const session of [...this.sessions.values()]) {
        if (session.deadline <= now) this.endSession(session.id, "expired");
      }
      if (this.sessions.size === 0) {
        clearInterval(this.reaper);
        this.reaper = undefined;
      }
    }, 20);
    this.reaper.unref();
  }

  private append(group: StoredGroup, event: DriverEvent): void {
    group.log.push(event);
    if (group.log.length > LOG_RETENTION) group.log.splice(0, group.log.length - LOG_RETENTION);
    for (const listener of [...group.listeners]) listener(event);
  }

  private removeMember(_key: string, group: StoredGroup, memberId: string, reason: LeaveReason): void {
    group.members.delete(memberId);
    this.append(group, { type: "leave", memberId, reason, revision: ++this.revision });
  }

  createGroup(namespace: string, group: string): void {
    const key = this.key(namespace, group);
    if (this.groups.has(key)) throw groupExists(group);
    this.groups.set(key, { members: new Map(), log: [], listeners: new Set() });
  }

  deleteGroup(namespace: string, group: string): void {
    const stored = this.group(namespace, group);
    if (stored.members.size > 0) {
      throw groupNotEmpty(group, stored.members.size);
    }
    this.groups.delete(this.key(namespace, group));
  }

  listGroups(namespace: string): string[] {
    const prefix = `${namespace}\u0000`;
    return [...this.groups.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /**
   * Adds a member bound to `sessionId`. When the session already holds it (a retried join), returns it
   * with its original `seq`. `MEMBER_EXISTS` when another session holds it.
   */
  join(namespace: string, group: string, memberId: string, metadata: Metadata, sessionId: number): Member {
    const stored = this.group(namespace, group);
    if (!this.sessions.has(sessionId)) throw sessionExpired("memory", "join", { group, memberId });
    const existing = stored.members.get(memberId);
    if (existing !== undefined) {
      // A retry by the same session of a join that already landed: the member as it stands, with the
      // metadata asked for (as an update would set it).
      if (existing.sessionId === sessionId) {
        if (JSON.stringify(existing.member.metadata) === JSON.stringify(metadata))
          return copy(existing.member);
        return this.update(namespace, group, memberId, metadata, sessionId);
      }
      throw memberExists(group, memberId);
    }
    const revision = ++this.revision;
    const now = new Date();
    const member: Member = {
      id: memberId,
      group,
      metadata: structuredClone(metadata),
      seq: revision,
      joinedAt: now,
      updatedAt: now,
    };
    stored.members.set(memberId, { member, sessionId });
    this.append(stored, { type: "join", member: copy(member), revision });
    return copy(member);
  }

  private own(namespace: string, group: string, memberId: string, sessionId: number): StoredGroup {
    const stored = this.group(namespace, group);
    if (stored.members.get(memberId)?.sessionId !== sessionId) {
      throw memberNotJoined(group, memberId);
    }
    return stored;
  }

  leave(namespace: string, group: string, memberId: string, sessionId: number): void {
    const stored = this.own(namespace, group, memberId, sessionId);
    this.removeMember(this.key(namespace, group), stored, memberId, "left");
  }

  update(namespace: string, group: string, memberId: string, metadata: Metadata, sessionId: number): Member {
    const stored = this.own(namespace, group, memberId, sessionId);
    const entry = stored.members.get(memberId) as StoredMember;
    const revision = ++this.revision;
    entry.member = { ...entry.member, metadata: structuredClone(metadata), updatedAt: new Date() };
    this.append(stored, { type: "update", member: copy(entry.member), revision });
    return copy(entry.member);
  }

  members(namespace: string, group: string): GroupSnapshot {
    const stored = this.group(namespace, group);
    return { members: [...stored.members.values()].map((s) => copy(s.member)), revision: this.revision };
  }

  /**
   * Delivers every event after `fromRevision`, then live ones. Returns `undefined` when the log no
   * longer reaches back that far (the caller must re-list).
   */
  subscribe(
    namespace: string,
    group: string,
    fromRevision: bigint,
    listener: (event: DriverEvent) => void,
  ): (() => void) | undefined {
    const stored = this.group(namespace, group);
    const oldest = stored.log[0];
    if (oldest !== undefined && oldest.revision > fromRevision + 1n && stored.log.length >= LOG_RETENTION)
      return undefined;
    for (const event of stored.log) if (event.revision > fromRevision) listener(event);
    stored.listeners.add(listener);
    return () => stored.listeners.delete(listener);
  }

  /** Whether the member (with that `seq`, when given) is in the group. */
  hasMember(namespace: string, group: string, memberId: string, seq?: bigint): boolean {
    const stored = this.groups.get(this.key(namespace, group))?.members.get(memberId);
    return stored !== undefined && (seq === undefined || stored.member.seq === seq);
  }
}

const stores = new Map<string, MemoryStore>();

/** The store behind `memory://name` (created on first use). */
export function memoryStore(name: string): MemoryStore {
  let store = stores.get(name);
  if (!store) {
    store = new MemoryStore(name);
    stores.set(name, store);
  }
  return store;
}
