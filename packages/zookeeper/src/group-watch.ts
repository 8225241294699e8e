import type { DriverEvent, Logger, Member, WatchHandle, WatchListener } from "@rollcall/core/driver";
import { zkError } from "./errors.js";
import {
  decodeMetadata,
  decodeRecord,
  incarnation,
  type JournalRecord,
  type Layout,
  type LeaveRecordData,
  parseRecord,
  type UpdateRecordData,
} from "./layout.js";
import { isConnectionRc, Rc, WatchType, type ZkStat } from "./zk-binding.js";
import { errorText, type Reply, type WatchKind, type ZkSession } from "./zk-session.js";
import { forEachPipelined, READ_WINDOW } from "./znodes.js";

/** A member as a watch (or a snapshot) knows it: its record plus the znode's zxids and data version. */
export interface ViewEntry {
  czxid: number;
  mzxid: number;
  version: number;
  member: Member;
}

/** The state a watch starts from: a `members()` snapshot with its listing. */
export interface WatchBase {
  pzxid: number;
  cversion: number;
  children: string[];
  view: Map<string, ViewEntry>;
}

/** Settings of a {@link GroupWatch}. */
export interface GroupWatchOptions {
  /** How long a join waits for the update record of an update still being written, in ms. */
  gapTimeout: number;
  servers: string;
  logger: Logger;
  /**
   * The group's journal keeper: a watcher sweeps the journal too (with the names it just listed, and on a
   * timer while nothing changes), so the journal stays bounded by its retention when every writer is gone.
   */
  journal?: JournalKeeper;
}

/** What a watch needs of the driver's {@link Journal}. */
export interface JournalKeeper {
  /** How often a watcher offers to sweep while nothing changes, ms. */
  readonly sweepInterval: number;
  /** Sweeps the group's journal if it is due (at most once per interval, jittered); never throws. */
  sweepSoon(session: ZkSession, group: string, listed?: string[]): void;
  /** A server timestamp just seen (a ctime or mtime), for telling when a sweep is due. */
  serverTime(ms: number): void;
}

/** A request of a watch round failed with `rc`; connection losses are retried after the reconnect. */
class RoundFailure extends Error {
  constructor(
    readonly rc: number,
    message: string,
  ) {
    super(message);
  }
}

/** Low bits of a revision: events sharing a zxid bound are numbered within it. */
const SUB_BITS = 20n;

/** The revision of a snapshot whose listing had `pzxid`: above every change it reflects. */
export function snapshotRevision(pzxid: number): bigint {
  return (BigInt(pzxid) << SUB_BITS) | ((1n << SUB_BITS) - 1n);
}

interface Read {
  stat: ZkStat;
  data: Buffer;
}

/** A journal record as read: its data (if trustworthy) and when it was written. */
interface Fetched<T> {
  record: T | undefined;
  czxid: number;
  ctime: number;
}

interface Step {
  zxid: number;
  sub: number;
  /** The member the step is about. */
  id: string;
  apply(): DriverEvent | undefined;
}

/**
 * What a round could not settle yet, and the lowest zxid it concerns: no event at or above it is
 * delivered in this round, so that events — joins in particular — come in zxid (`seq`) order even when
 * one member's join has to wait for the next round.
 */
interface Floor {
  zxid: number;
}

/**
 * A push watch of one group, built from ZooKeeper's one-shot watches:
 *
 * - a children watch on the group (joins, leaves, expiries) and one on the group's journal (leave
 *   intents and update records), each re-armed by the listing that follows its firing, so nothing
 *   changes unobserved between firing and re-arming: the listing itself shows the new state;
 * - the gap one-shot watches cannot close — a member that joined and left between two listings —
 *   is closed by the journal: a leaver writes its intent (with the member as it joined) before
 *   deleting its znode, so a later listing finds the intent even when the member is long gone;
 * - a member gone without an intent expired; one gone with an intent left;
 * - the group's `cversion` counts every child create and delete, so when it grew by more than the
 *   listings explain (a member expired and re-joined in between), every member is re-read.
 *
 * Events are delivered in zxid order, across rounds too: when a round cannot settle a member yet (its
 * znode was re-created after the listing, or the record of its latest update is still being written),
 * every event at or above that member's zxid waits for a later round with it. Events are numbered with
 * revisions derived from zxids (`zxid << 20 | n`), strictly increasing.
 */
export class GroupWatch implements WatchHandle {
  private readonly view: Map<string, ViewEntry>;
  private prevChildren: Set<string>;
  private prevCversion: number;
  private lastPzxid: number;
  private readonly basePzxid: number;
  private lastRevision: bigint;
  private journalNames: string[] = [];
  private readonly records = new Map<string, Fetched<LeaveRecordData | UpdateRecordData>>();
  /** Incarnations (id@czxid) joined during this watch, so a journal intent is never reported twice. */
  private readonly seen = new Set<string>();
  private suspects = new Set<string>();
  private readonly deferredSince = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private needGroup = true;
  private needJournal = true;
  private running = false;
  private dirty = false;
  private closed = false;
  private readonly groupPath: string;
  private readonly journalPath: string;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: ZkSession,
    private readonly layout: Layout,
    private readonly group: string,
    base: WatchBase,
    startRevision: bigint,
    private readonly listener: WatchListener,
    private readonly options: GroupWatchOptions,
  ) {
    this.view = new Map(base.view);
    this.prevChildren = new Set(base.children);
    this.prevCversion = base.cversion;
    this.lastPzxid = base.pzxid;
    this.basePzxid = base.pzxid;
    this.lastRevision = startRevision;
    this.groupPath = layout.group(group);
    this.journalPath = layout.journal(group);
    const journal = options.journal;
    if (journal) {
      this.sweeper = setInterval(() => journal.sweepSoon(session, group), journal.sweepInterval);
      this.sweeper.unref();
    }
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    // The one-shot watches stay set on the server until they fire; their listeners go now.
    for (const path of [this.groupPath, this.journalPath]) {
      const listener = path === this.groupPath ? this.onGroupWatch : this.onJournalWatch;
      this.session.unwatch("children", path, listener);
      this.session.unwatch("node", path, listener);
    }
  }

  /** Continuity is lost (e.g. a suspension longer than the journal is kept): core re-lists. */
  resync(reason: string): void {
    if (this.closed) return;
    void this.close();
    this.listener.resync(reason);
  }

  private readonly onGroupWatch = (type: number) => {
    if (type === WatchType.SESSION || this.closed) return;
    this.needGroup = true;
    this.schedule();
  };

  private readonly onJournalWatch = (type: number) => {
    if (type === WatchType.SESSION || this.closed) return;
    this.needJournal = true;
    this.schedule();
  };

  /** Runs a round after `ms`. */
  private later(ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.schedule();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Lists the group or the journal again in another round. */
  private again(what: "group" | "journal"): void {
    if (what === "group") this.needGroup = true;
    else this.needJournal = true;
    this.dirty = true;
  }

  private schedule(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await this.round();
      } catch (error) {
        if (this.closed) break;
        this.needGroup = true;
        this.needJournal = true;
        if (this.session.state === "expired" || this.session.state === "closed") {
          // Core re-opens the session and resynchronises every group from there.
          void this.close();
          break;
        }
        if (!(error instanceof RoundFailure && isConnectionRc(error.rc))) {
          this.options.logger.warn("zookeeper watch failed; re-listing the group", {
            group: this.group,
            error: errorText(error),
          });
          this.resync(`the watch failed: ${errorText(error)}`);
          break;
        }
        // A connection loss: again once connected.
        this.running = false;
        this.session.whenConnected().then(
          () => this.later(20),
          () => void this.close(),
        );
        return;
      }
    }
    this.running = false;
  }

  private fail(rc: number, action: string): never {
    throw new RoundFailure(
      rc,
      zkError(rc, { action, servers: this.options.servers, group: this.group }).message,
    );
  }

  private async round(): Promise<void> {
    // 1. The group's children, re-arming its watch.
    let children = this.prevChildren;
    let pzxid = this.lastPzxid;
    let cversion = this.prevCversion;
    let groupMissing = false;
    let listed = false;
    if (this.needGroup) {
      this.needGroup = false;
      const reply = await this.watched("children", this.groupPath, this.onGroupWatch);
      if (reply.ok) {
        listed = true;
        children = new Set(reply.value.children);
        pzxid = reply.value.stat.pzxid;
        cversion = reply.value.stat.cversion;
      } else if (reply.rc === Rc.NONODE) {
        groupMissing = true;
        children = new Set();
        cversion = 0;
        const exists = await this.watched("node", this.groupPath, this.onGroupWatch);
        if (exists.ok) this.again("group");
        else if (exists.rc !== Rc.NONODE) this.fail(exists.rc, "watch the group");
      } else {
        this.needGroup = true;
        this.fail(reply.rc, "list the group");
      }
    }

    // 2. Read every member that is new or suspect.
    const reads = new Map<string, Read | null>();
    await this.read(
      [...children].filter((id) => this.suspects.has(id) || !this.view.has(id)),
      reads,
    );

    // 3. The journal, after the listing and the reads: every intent written before a deletion the
    // listing or a read shows is in it.
    if (this.needJournal) {
      this.needJournal = false;
      await this.listJournal();
    }
    let journal = indexJournal(this.journalNames);

    // The group's cversion counts every child create and delete. When it grew by more than the
    // listings and the journal explain (a member expired and re-joined in between, or joined and
    // expired), some member may be a new incarnation under an old id: read them all.
    if (listed && this.unexplained(children, cversion, pzxid, journal)) {
      const rest = [...children].filter((id) => !reads.has(id));
      await this.read(rest, reads);
      // These reads came after the journal's listing: a member they found deleted or re-created since
      // the group's listing may have written its leave intent after the journal was listed.
      if (
        rest.some((id) => {
          const read = reads.get(id);
          return read === null || (read !== undefined && read.stat.czxid > pzxid);
        })
      ) {
        this.needJournal = false;
        await this.listJournal();
        journal = indexJournal(this.journalNames);
      }
    }
    for (const name of this.records.keys()) if (!journal.names.has(name)) this.records.delete(name);

    // 4. Plan every affected member's events.
    const bound = groupMissing ? Number.POSITIVE_INFINITY : pzxid;
    const affected = new Set<string>(reads.keys());
    for (const id of this.view.keys()) if (!children.has(id)) affected.add(id);
    for (const [key, record] of journal.byIncarnation) {
      if (record.czxid > this.basePzxid && !this.seen.has(key)) affected.add(record.memberId);
    }
    for (const [key, updates] of journal.updates) {
      const id = updates.memberId;
      const entry = this.view.get(id);
      if (entry && incarnation(id, entry.czxid) === key && updates.maxVersion > entry.version)
        affected.add(id);
    }
    const nextSuspects = new Set<string>();
    const steps: Step[] = [];
    const floor: Floor = { zxid: Number.POSITIVE_INFINITY };
    await Promise.all(
      [...affected].map((id) =>
        this.plan(id, children.has(id), reads.get(id), pzxid, bound, journal, nextSuspects, steps, floor),
      ),
    );

    // 5. Deliver in zxid order, up to what this round could not settle; the rest waits for a later round
    // (its members are read again then; transients and updates come from the journal again).
    steps.sort((a, b) => a.zxid - b.zxid || a.sub - b.sub);
    for (const step of steps) {
      if (this.closed) return;
      if (step.zxid >= floor.zxid) {
        nextSuspects.add(step.id);
        continue;
      }
      const event = step.apply();
      if (!event) continue;
      const least = (BigInt(step.zxid) << SUB_BITS) | BigInt(step.sub);
      const revision = least > this.lastRevision ? least : this.lastRevision + 1n;
      this.lastRevision = revision;
      this.listener.event({ ...event, revision });
    }
    this.suspects = nextSuspects;
    // Held back: a member whose znode changed after the listing is announced by the group's watch, and a
    // record being written by the journal's; this timer only bounds the wait if neither comes.
    if (floor.zxid !== Number.POSITIVE_INFINITY) this.later(Math.min(250, this.options.gapTimeout));
    this.prevChildren = children;
    this.prevCversion = cversion;
    if (!groupMissing) this.lastPzxid = pzxid;
    for (const key of this.seen) {
      const at = key.lastIndexOf("@");
      const entry = this.view.get(key.slice(0, at));
      if (
        !journal.byIncarnation.has(key) &&
        !journal.updates.has(key) &&
        `${entry?.czxid}` !== key.slice(at + 1)
      ) {
        this.seen.delete(key);
      }
    }
  }

  /** Lists the journal again, re-arming its watch (and offers to sweep it with the names it got). */
  private async listJournal(): Promise<void> {
    const listed = await this.watched("children", this.journalPath, this.onJournalWatch);
    if (listed.ok) {
      this.journalNames = listed.value.children;
      this.options.journal?.sweepSoon(this.session, this.group, listed.value.children);
    } else if (listed.rc === Rc.NONODE) {
      this.journalNames = [];
      const exists = await this.watched("node", this.journalPath, this.onJournalWatch);
      if (exists.ok) this.again("journal");
      else if (exists.rc !== Rc.NONODE) this.fail(exists.rc, "watch the journal");
    } else {
      this.needJournal = true;
      this.fail(listed.rc, "list the journal");
    }
  }

  /** Lists `path`'s children (or checks it exists) with a watch — whose listener goes if we closed meanwhile. */
  private async watched<K extends WatchKind>(
    kind: K,
    path: string,
    listener: (type: number) => void,
  ): Promise<K extends "children" ? Reply<{ children: string[]; stat: ZkStat }> : Reply<ZkStat>> {
    const reply =
      kind === "children"
        ? await this.session.children(path, listener)
        : await this.session.exists(path, listener);
    if (this.closed) this.session.unwatch(kind, path, listener);
    return reply as K extends "children" ? Reply<{ children: string[]; stat: ZkStat }> : Reply<ZkStat>;
  }

  /** Reads the members `ids` (pipelined: at most {@link READ_WINDOW} in flight). */
  private async read(ids: string[], reads: Map<string, Read | null>): Promise<void> {
    await forEachPipelined(ids, READ_WINDOW, async (id) => {
      const got = await this.session.get(this.layout.member(this.group, id));
      if (got.ok) {
        reads.set(id, got.value);
        this.options.journal?.serverTime(got.value.stat.mtime.getTime());
      } else if (got.rc === Rc.NONODE) reads.set(id, null);
      else this.fail(got.rc, "read a member");
    });
  }

  /**
   * Whether the children changed more often since the last listing than the listings show: each id
   * that appeared or vanished is one change, each leave intent of a member that joined after the last
   * listing and is gone again is two.
   */
  private unexplained(
    children: Set<string>,
    cversion: number,
    pzxid: number,
    journal: JournalIndex,
  ): boolean {
    if (cversion < this.prevCversion) return true;
    let explained = symmetricDifference(this.prevChildren, children);
    for (const record of journal.byIncarnation.values()) {
      if (record.czxid > this.lastPzxid && record.czxid <= pzxid && !children.has(record.memberId))
        explained += 2;
    }
    return cversion - this.prevCversion > explained;
  }

  /** Plans the events of one member id for this round (old incarnation, transients, current one). */
  private async plan(
    id: string,
    present: boolean,
    read: Read | null | undefined,
    pzxid: number,
    bound: number,
    journal: JournalIndex,
    suspects: Set<string>,
    steps: Step[],
    floor: Floor,
  ): Promise<void> {
    const old = this.view.get(id);
    let now: { czxid: number; read?: Read } | undefined;
    /** The czxid of an incarnation created after the listing: the next round reports it. */
    let recreated: number | undefined;
    if (present) {
      if (read === undefined) now = old && { czxid: old.czxid };
      else if (read === null) {
        // Deleted since the listing: it is gone. If it left gracefully, its intent is in the journal
        // (written before the deletion, so before our read's answer, and the journal is listed after the
        // reads): then it is reported below as a member that came and went, in its zxid's place.
        now = undefined;
      } else if (read.stat.czxid > pzxid) {
        // Re-created after the listing: the group's watch has fired for it; its join is for the next
        // round, which holds everything from its zxid on so that its events keep their place. What came
        // before it — the end of the incarnation we knew, incarnations that came and went — is this round's.
        suspects.add(id);
        hold(floor, read.stat.czxid);
        recreated = read.stat.czxid;
      } else now = { czxid: read.stat.czxid, read };
    }
    const same = old !== undefined && now !== undefined && now.czxid === old.czxid;
    const after = Math.max(this.basePzxid, old?.czxid ?? Number.NEGATIVE_INFINITY);
    /** The czxid of the incarnation that follows the ones this round reports, if any. */
    const following = now && !same ? now.czxid : recreated;
    const before = following ?? Number.POSITIVE_INFINITY;
    const unseen = (journal.leavesById.get(id) ?? []).filter(
      (c) => c > after && c < before && !this.seen.has(incarnation(id, c)),
    );
    // Incarnations created after the listing are the next round's (it will list the group past them).
    for (const c of unseen) if (c > bound) hold(floor, c);
    const transients = unseen.filter((c) => c <= bound).sort((a, b) => a - b);
    const nextAfterOld = transients[0] ?? following;
    // Where a leave goes in zxid order: at its intent (written just before the deletion, after
    // every update); without one, before the next incarnation or at the listing that showed it gone.
    const fallback = (next: number | undefined) =>
      next ?? (bound === Number.POSITIVE_INFINITY ? this.lastPzxid : pzxid);

    if (old) {
      await this.planUpdates(id, old.czxid, old.version, journal, steps);
      if (!same) {
        const intent = journal.byIncarnation.get(incarnation(id, old.czxid));
        const fetched = intent && (await this.fetchRecord<LeaveRecordData>(intent.name));
        steps.push({
          zxid: fetched?.czxid ?? fallback(nextAfterOld),
          sub: 0,
          id,
          apply: () => this.removeMember(id, old.czxid, intent ? "left" : "expired"),
        });
      }
    }
    for (const [i, czxid] of transients.entries()) {
      const name = journal.byIncarnation.get(incarnation(id, czxid))?.name as string;
      const fetched = await this.fetchRecord<LeaveRecordData>(name);
      const joinedAt = new Date(fetched?.record?.joinedAt ?? fetched?.ctime ?? 0);
      const member: Member = {
        id,
        group: this.group,
        metadata: fetched?.record?.metadata ?? {},
        seq: BigInt(czxid),
        joinedAt,
        updatedAt: joinedAt,
      };
      steps.push({
        zxid: czxid,
        sub: 1,
        id,
        apply: () => this.addMember({ czxid, mzxid: czxid, version: 0, member }),
      });
      await this.planUpdates(id, czxid, 0, journal, steps);
      const next = transients[i + 1] ?? following;
      steps.push({
        zxid: fetched?.czxid ?? fallback(next),
        sub: 0,
        id,
        apply: () => this.removeMember(id, czxid, "left"),
      });
    }
    if (now?.read && !same) await this.planJoin(id, now.read, journal, suspects, steps, floor);
  }

  /** Plans the join of a member read from its znode, replaying its updates from the journal. */
  private async planJoin(
    id: string,
    read: Read,
    journal: JournalIndex,
    suspects: Set<string>,
    steps: Step[],
    floor: Floor,
  ): Promise<void> {
    const { stat } = read;
    const versions = journal.updates.get(incarnation(id, stat.czxid))?.versions;
    const missing: number[] = [];
    for (let v = 1; v <= stat.version; v++) if (!versions?.has(v)) missing.push(v);
    const joinedAt = stat.ctime;
    if (stat.version > 0 && missing.length === 0) {
      // Join with the metadata it had then (kept in the version-1 record), and replay every update.
      this.deferredSince.delete(id);
      const { first } = await this.planUpdates(id, stat.czxid, 0, journal, steps);
      const metadata = first?.previous ?? decodeMetadata(read.data);
      const member: Member = {
        id,
        group: this.group,
        metadata,
        seq: BigInt(stat.czxid),
        joinedAt,
        updatedAt: joinedAt,
      };
      steps.push({
        zxid: stat.czxid,
        sub: 1,
        id,
        apply: () => this.addMember({ czxid: stat.czxid, mzxid: stat.czxid, version: 0, member }),
      });
      return;
    }
    if (missing.length === 1 && missing[0] === stat.version) {
      // The latest update's record is being written right now: wait for it, within reason.
      const since = this.deferredSince.get(id);
      if (since === undefined || performance.now() - since < this.options.gapTimeout) {
        if (since === undefined) {
          this.deferredSince.set(id, performance.now());
          this.later(this.options.gapTimeout + 5);
        }
        suspects.add(id);
        // Its join goes at its czxid: nothing after it may be delivered before it.
        hold(floor, stat.czxid);
        return;
      }
    }
    // No update, or its records are lost: join with the current data.
    this.deferredSince.delete(id);
    const member: Member = {
      id,
      group: this.group,
      metadata: decodeMetadata(read.data),
      seq: BigInt(stat.czxid),
      joinedAt,
      updatedAt: stat.version === 0 ? joinedAt : stat.mtime,
    };
    const entry: ViewEntry = { czxid: stat.czxid, mzxid: stat.mzxid, version: stat.version, member };
    steps.push({ zxid: stat.czxid, sub: 1, id, apply: () => this.addMember(entry) });
    await this.planUpdates(id, stat.czxid, stat.version, journal, steps);
  }

  /**
   * Plans update events from the journal for one incarnation, for data versions above `fromVersion`.
   * Returns the version-1 record, if any (it holds the metadata the member joined with).
   */
  private async planUpdates(
    id: string,
    czxid: number,
    fromVersion: number,
    journal: JournalIndex,
    steps: Step[],
  ): Promise<{ first?: UpdateRecordData }> {
    const versions = journal.updates.get(incarnation(id, czxid))?.versions;
    let first: UpdateRecordData | undefined;
    if (!versions) return {};
    const wanted = [...versions.keys()].filter((v) => v > fromVersion).sort((a, b) => a - b);
    const fetched = await Promise.all(
      wanted.map((v) => this.fetchRecord<UpdateRecordData>(versions.get(v) as string)),
    );
    for (const [i, version] of wanted.entries()) {
      const record = fetched[i]?.record;
      if (!record || typeof record.mzxid !== "number") continue;
      if (version === 1) first = record;
      steps.push({
        zxid: record.mzxid,
        sub: 2,
        id,
        apply: () => this.updateMember(id, czxid, version, record),
      });
    }
    return { first };
  }

  private async fetchRecord<T extends LeaveRecordData | UpdateRecordData>(
    name: string,
  ): Promise<Fetched<T> | undefined> {
    const cached = this.records.get(name);
    if (cached) return cached as Fetched<T>;
    const got = await this.session.get(`${this.journalPath}/${name}`);
    if (got.rc === Rc.NONODE) return undefined;
    if (!got.ok) this.fail(got.rc, "read the journal");
    const { stat, data } = got.value;
    this.options.journal?.serverTime(stat.ctime.getTime());
    // A record someone changed after it was written (data version > 0) is not trusted.
    const record = stat.version === 0 ? decodeRecord<T>(data) : undefined;
    const fetched: Fetched<T> = { record, czxid: stat.czxid, ctime: stat.ctime.getTime() };
    this.records.set(name, fetched);
    return fetched;
  }

  private addMember(entry: ViewEntry): DriverEvent {
    this.view.set(entry.member.id, entry);
    if (entry.czxid > this.basePzxid) this.seen.add(incarnation(entry.member.id, entry.czxid));
    return { type: "join", member: entry.member, revision: 0n };
  }

  private updateMember(
    id: string,
    czxid: number,
    version: number,
    record: UpdateRecordData,
  ): DriverEvent | undefined {
    const entry = this.view.get(id);
    if (!entry || entry.czxid !== czxid || version <= entry.version) return undefined;
    const member: Member = {
      ...entry.member,
      metadata: record.metadata,
      updatedAt: new Date(record.updatedAt),
    };
    this.view.set(id, { czxid, mzxid: record.mzxid, version, member });
    return { type: "update", member, revision: 0n };
  }

  private removeMember(id: string, czxid: number, reason: "left" | "expired"): DriverEvent | undefined {
    const entry = this.view.get(id);
    if (!entry || entry.czxid !== czxid) return undefined;
    this.view.delete(id);
    this.deferredSince.delete(id);
    return { type: "leave", memberId: id, reason, revision: 0n };
  }
}

interface JournalIndex {
  names: Set<string>;
  /** Leave intents by incarnation. */
  byIncarnation: Map<string, JournalRecord>;
  /** czxids of leave intents, by member id. */
  leavesById: Map<string, number[]>;
  /** Update records by incarnation. */
  updates: Map<string, { memberId: string; versions: Map<number, string>; maxVersion: number }>;
}

function indexJournal(names: string[]): JournalIndex {
  const index: JournalIndex = {
    names: new Set(names),
    byIncarnation: new Map(),
    leavesById: new Map(),
    updates: new Map(),
  };
  for (const name of names) {
    const record = parseRecord(name);
    if (!record) continue;
    const key = incarnation(record.memberId, record.czxid);
    if (record.kind === "L") {
      index.byIncarnation.set(key, record);
      const list = index.leavesById.get(record.memberId) ?? [];
      list.push(record.czxid);
      index.leavesById.set(record.memberId, list);
    } else {
      const updates = index.updates.get(key) ?? {
        memberId: record.memberId,
        versions: new Map(),
        maxVersion: 0,
      };
      updates.versions.set(record.version, name);
      updates.maxVersion = Math.max(updates.maxVersion, record.version);
      index.updates.set(key, updates);
    }
  }
  return index;
}

/** Lowers the round's floor to `zxid`. */
function hold(floor: Floor, zxid: number): void {
  if (zxid < floor.zxid) floor.zxid = zxid;
}

function symmetricDifference(a: Set<string>, b: Set<string>): number {
  let count = 0;
  for (const x of a) if (!b.has(x)) count++;
  for (const x of b) if (!a.has(x)) count++;
  return count;
}
