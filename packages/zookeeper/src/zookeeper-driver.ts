import {
  type Characteristics,
  type ConfigDriver,
  type Driver,
  type DriverConfig,
  delay,
  driverClosed,
  driverOptions,
  type GroupSnapshot,
  groupExists,
  groupNotEmpty,
  groupNotFound,
  type Logger,
  type Member,
  type Metadata,
  memberExists,
  memberNotJoined,
  noSession,
  RollcallError,
  type SessionListener,
  sessionExpired,
  type WatchHandle,
  type WatchListener,
} from "@rollcall/core/driver";
import { awaitGone } from "./await-gone.js";
import { type BulkRead, readMany } from "./bulk-read.js";
import { type Failure, zkError } from "./errors.js";
import { GroupWatch, snapshotRevision, type ViewEntry, type WatchBase } from "./group-watch.js";
import { Journal, journalRetention, ZOOKEEPER_PARAMS } from "./journal.js";
import { decodeMetadata, encodeMetadata, encodeRecord, Layout } from "./layout.js";
import { formatAddress, type ServerAddress } from "./server-address.js";
import { SnapshotCache } from "./snapshot-cache.js";
import { CreateFlag, isConnectionRc, Rc } from "./zk-binding.js";
import { errorText, shuffled, ZkSession } from "./zk-session.js";
import { ensureZnode, forEachPipelined, READ_WINDOW, restrict } from "./znodes.js";
import { ZooKeeperConfigStore } from "./zookeeper-config.js";

/** How many znodes a namespace opened for the first time looks at below itself for a nested namespace. */
const NESTING_SCAN = 200;

/** Groups at least this large are read with multi-reads (see bulk-read.ts); smaller ones one by one. */
export const BULK_READ_MIN = 64;

/** The default port of a ZooKeeper server. */
export const DEFAULT_PORT = 2181;

/** A member this session holds. */
interface Held {
  group: string;
  memberId: string;
  czxid: number;
  version: number;
  /** The metadata it joined with: leave intents carry it, for watchers that never saw the member. */
  initial: Metadata;
  member: Member;
  /** Serialises update and leave, so update records are written in version order. */
  chain: Promise<unknown>;
}

/**
 * The ZooKeeper backend: a session is a ZooKeeper session, a group a persistent znode, a member an
 * ephemeral znode under it whose czxid is its `seq`; watches are children watches on the group and
 * its journal (see `GroupWatch` in group-watch.ts); `awaitGone` is an exists watch.
 */
export class ZooKeeperDriver implements Driver {
  readonly characteristics: Characteristics = {
    scope: "cluster",
    liveness: "session",
    watch: "push",
    leaveReason: true,
    consistency: "sequential",
    config: "durable",
  };
  private readonly layout: Layout;
  private readonly addresses: ServerAddress[];
  private readonly servers: string;
  /** `user:password`: a private field, so `util.inspect()` and JSON never show it. */
  readonly #digest: string | undefined;
  private readonly logger: Logger;
  private readonly journal: Journal;
  /** The session's {@link ZkSession.handleGeneration} when it was last connected. */
  private handleGeneration = 0;
  private session: ZkSession | undefined;
  private listener: SessionListener | undefined;
  private negotiated: number | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private suspendedAt = 0;
  private closing: Promise<void> | undefined;
  private readonly held = new Map<string, Held>();
  private readonly watches = new Set<GroupWatch>();
  private readonly waiters = new Set<(error: RollcallError) => void>();
  private readonly snapshots = new SnapshotCache<WatchBase>();
  /** Whether snapshots read members with multi-reads (off for the session once one failed). */
  private bulkReads = true;
  /** Configuration operations waiting for the coordinator to open its next session. */
  private readonly sessionWaiters = new Set<() => void>();
  /** The configuration stores (`coord.config(name)`): persistent znodes under `/<ns>/.config`. */
  readonly configStore: ConfigDriver;
  /** The configuration store as this driver drives it (reconnects, session end, close). */
  private readonly configs: ZooKeeperConfigStore;

  constructor(private readonly config: DriverConfig) {
    const { url } = config;
    if (url.hosts.length === 0) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: zookeeper:// needs at least one host`,
      );
    }
    if (config.namespace.split("/")[0] === "zookeeper") {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: /zookeeper is ZooKeeper's own tree; choose another namespace`,
      );
    }
    this.addresses = url.hosts.map(({ host, port }) => ({ host, port: port ?? DEFAULT_PORT }));
    this.servers = `zookeeper://${this.addresses.map(formatAddress).join(",")}`;
    this.#digest = url.username === undefined ? undefined : `${url.username}:${url.password ?? ""}`;
    this.layout = new Layout(config.namespace);
    this.logger = config.logger;
    this.journal = new Journal(
      this.layout,
      this.owned,
      journalRetention(
        url,
        config.sessionTimeout,
        driverOptions(config, ZOOKEEPER_PARAMS).options.journalRetention,
      ),
      this.logger,
    );
    this.configs = new ZooKeeperConfigStore({
      layout: this.layout,
      owned: this.owned,
      servers: this.servers,
      logger: this.logger,
      sessionTimeout: () => this.sessionTimeout,
      retention: this.journal.retention,
      session: (action, deadline) => this.configSession(action, deadline),
      ensureNamespace: (session) => this.ensureNamespace(session),
    });
    this.configStore = this.configs;
  }

  get sessionTimeout(): number {
    return this.negotiated ?? this.config.sessionTimeout;
  }

  private get owned(): boolean {
    return this.#digest !== undefined;
  }

  async open(listener: SessionListener, signal: AbortSignal): Promise<void> {
    if (this.closing) throw driverClosed("ZooKeeper", "open a session");
    this.endSession();
    let opened: ZkSession | undefined;
    const session = await ZkSession.open({
      addresses: this.addresses,
      sessionTimeout: this.config.sessionTimeout,
      ...(this.#digest === undefined ? {} : { digest: this.#digest }),
      describe: this.servers,
      signal,
      onAck: (sentAt) => {
        if (opened !== undefined && opened === this.session) this.listener?.renewed(sentAt);
      },
    });
    try {
      await this.refuseNesting(session);
    } catch (error) {
      session.close();
      throw error;
    }
    const rc = await this.ensureNamespace(session);
    if (rc !== Rc.OK) {
      session.close();
      throw zkError(rc, { action: `create the namespace ${this.layout.root}`, servers: this.servers });
    }
    if (this.closing) {
      session.close();
      throw driverClosed("ZooKeeper", "open a session");
    }
    opened = session;
    this.session = session;
    for (const wake of [...this.sessionWaiters]) wake();
    this.bulkReads = true;
    this.listener = listener;
    this.negotiated = session.negotiatedTimeout;
    this.handleGeneration = session.handleGeneration;
    session.onState((state) => this.onSessionState(session, state));
    this.pingTimer = setInterval(
      () => void this.ping(session),
      Math.max(50, Math.floor(this.sessionTimeout / 3)),
    );
    this.pingTimer.unref();
  }

  private onSessionState(session: ZkSession, state: string): void {
    if (session !== this.session) return;
    if (state === "suspended") {
      this.suspendedAt = performance.now();
      this.listener?.state("suspended");
    } else if (state === "connected") {
      this.listener?.state("connected");
      void this.ping(session);
      this.configs.reconnected();
      if (session.handleGeneration !== this.handleGeneration) {
        // Re-attached on a new handle: the znode watches set on the old one are gone.
        this.handleGeneration = session.handleGeneration;
        for (const watch of [...this.watches]) watch.resync("the session moved to a new connection");
      } else if (this.suspendedAt > 0 && performance.now() - this.suspendedAt > this.journal.retention / 2) {
        // A watch that was away longer than the journal keeps records may have missed some.
        for (const watch of [...this.watches])
          watch.resync("the connection was lost for longer than the journal is kept");
      }
    } else if (state === "expired") {
      this.endSession(sessionExpired("ZooKeeper"));
      this.listener?.state("expired");
    }
  }

  /** A cheap request every sessionTimeout/3: its reply proves the session alive (reported by onAck). */
  private async ping(session: ZkSession): Promise<void> {
    if (session.state === "connected") await session.exists(this.layout.root);
  }

  /** Forgets the current session: timers, watches, waiters and held members. Does not close it. */
  private endSession(
    reason = noSession("ZooKeeper", "it ended: a new one is being opened"),
  ): ZkSession | undefined {
    const session = this.session;
    this.session = undefined;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    for (const watch of this.watches) void watch.close();
    this.watches.clear();
    for (const reject of [...this.waiters]) reject(reason);
    this.waiters.clear();
    this.held.clear();
    this.snapshots.clear();
    this.journal.reset();
    if (session) this.configs.sessionEnded();
    return session;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.configs.close();
    for (const wake of [...this.sessionWaiters]) wake();
    const held = [...this.held.entries()];
    const session = this.endSession(driverClosed("ZooKeeper"));
    if (!session) return;
    if (session.state === "connected" && held.length > 0) {
      // Leave intents first, so watchers report "left"; closing the session then deletes every
      // member znode in one transaction. Bounded: a frozen server must not hold close() up.
      const intents = Promise.all(held.map(([, h]) => this.writeLeaveIntent(session, h)));
      const bound = new AbortController();
      await Promise.race([intents.catch(() => {}), delay(this.sessionTimeout, bound.signal).catch(() => {})]);
      bound.abort();
    }
    session.close();
  }

  /**
   * The session a configuration operation sends its requests on: the current one, or — while the
   * coordinator re-opens an expired session — the next one, if it comes before `deadline`
   * (`performance.now()`). Configuration entries belong to no session, so their operations need not fail
   * in between.
   * @throws RollcallError `NOT_CONNECTED` once closed, or when no session came in time
   */
  private async configSession(action: string, deadline: number): Promise<ZkSession> {
    for (;;) {
      if (this.closing) throw driverClosed("ZooKeeper", action);
      const session = this.session;
      if (session && session.state !== "expired" && session.state !== "closed") return session;
      const wait = deadline - performance.now();
      if (wait <= 0) {
        throw noSession("ZooKeeper", `to ${action}: the coordinator has not re-opened one`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.sessionWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, wait);
        this.sessionWaiters.add(wake);
      });
    }
  }

  private requireSession(action: string, group?: string): ZkSession {
    if (this.closing) throw driverClosed("ZooKeeper", action);
    const session = this.session;
    if (!session) {
      throw noSession(
        "ZooKeeper",
        `for ${action}: expired and not yet re-opened, or not opened yet`,
        group === undefined ? {} : { group },
      );
    }
    return session;
  }

  private failure(action: string, group?: string, memberId?: string): Failure {
    return {
      action,
      servers: this.servers,
      ...(group === undefined ? {} : { group }),
      ...(memberId === undefined ? {} : { memberId }),
    };
  }

  async createGroup(group: string): Promise<void> {
    const session = this.requireSession("createGroup", group);
    const path = this.layout.group(group);
    let created = await session.create(path, Buffer.alloc(0), CreateFlag.PERSISTENT);
    if (created.rc === Rc.NONODE) {
      // The namespace was removed under us: re-create it.
      await this.ensureNamespace(session);
      created = await session.create(path, Buffer.alloc(0), CreateFlag.PERSISTENT);
    }
    if (created.rc === Rc.NODEEXISTS) throw groupExists(group);
    if (!created.ok) throw zkError(created.rc, this.failure("create the group", group));
    // One request (plus the ACL): the group's journal is created with its first record.
    if (this.owned) {
      const rc = await restrict(session, path);
      if (rc !== Rc.OK) throw zkError(rc, this.failure("restrict the group's ACL", group));
    }
  }

  /**
   * Refuses a namespace that lies inside another rollcall namespace (`a/g` inside `a`, where it would be
   * the group `g`) or around one (`a` around an existing `a/g`, whose root it would list as a group):
   * their groups and members would mix. A namespace root is recognised by its `.journal` child. Opening
   * an existing namespace costs one `exists` per parent; only a namespace opened for the first time looks
   * below itself (at most {@link NESTING_SCAN} znodes).
   * @throws RollcallError `INVALID_ARGUMENT`
   */
  private async refuseNesting(session: ZkSession): Promise<void> {
    const chain = this.layout.rootChain();
    for (const parent of chain.slice(0, -1)) {
      const marker = await session.exists(`${parent}/.journal`);
      if (marker.ok) {
        throw new RollcallError(
          "INVALID_ARGUMENT",
          `invalid URL ${this.config.url.redacted}: the namespace ${this.layout.root.slice(1)} lies inside the rollcall namespace ${parent.slice(1)}, where it would be a group; choose one that is neither inside nor around another`,
        );
      }
    }
    if ((await session.exists(this.layout.journalRoot)).rc !== Rc.NONODE) return;
    // A namespace opened for the first time: is another one below it?
    const queue = [this.layout.root];
    for (let visited = 0; queue.length > 0 && visited < NESTING_SCAN; visited++) {
      const path = queue.shift() as string;
      const listed = await session.children(path);
      if (!listed.ok) continue;
      if (path !== this.layout.root && listed.value.children.includes(".journal")) {
        throw new RollcallError(
          "INVALID_ARGUMENT",
          `invalid URL ${this.config.url.redacted}: the namespace ${this.layout.root.slice(1)} holds the rollcall namespace ${path.slice(1)}, whose root it would list as a group; choose one that is neither inside nor around another`,
        );
      }
      for (const child of listed.value.children) queue.push(`${path}/${child}`);
    }
  }

  /** Creates the namespace's znodes (the parents open, the namespace itself and its journal root owned). */
  private async ensureNamespace(session: ZkSession): Promise<number> {
    for (const path of [...this.layout.rootChain(), this.layout.journalRoot]) {
      const owned = this.owned && (path === this.layout.root || path === this.layout.journalRoot);
      const rc = await ensureZnode(session, path, owned);
      if (rc !== Rc.OK) return rc;
    }
    return Rc.OK;
  }

  async deleteGroup(group: string): Promise<void> {
    const session = this.requireSession("deleteGroup", group);
    const deleted = await session.delete(this.layout.group(group));
    if (deleted.rc === Rc.NONODE) throw groupNotFound(group);
    if (deleted.rc === Rc.NOTEMPTY) throw groupNotEmpty(group);
    if (!deleted.ok) throw zkError(deleted.rc, this.failure("delete the group", group));
    await this.journal.remove(session, group);
  }

  async listGroups(): Promise<string[]> {
    const session = this.requireSession("groups");
    const [, listed] = await Promise.all([
      session.sync(this.layout.root),
      session.children(this.layout.root),
    ]);
    if (listed.rc === Rc.NONODE) return [];
    if (!listed.ok) throw zkError(listed.rc, this.failure("list the groups"));
    return listed.value.children.filter((name) => !name.startsWith("."));
  }

  async join(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const session = this.requireSession("join", group);
    const path = this.layout.member(group, memberId);
    const data = encodeMetadata(metadata);
    const created = session.create(path, data, CreateFlag.EPHEMERAL);
    // Pipelined: the server answers in order, so this stat is of the znode just created.
    const pipelined = this.owned ? undefined : session.exists(path);
    const reply = await created;
    if (reply.rc === Rc.NODEEXISTS) return this.rejoin(session, group, memberId, metadata);
    if (reply.rc === Rc.NONODE) throw groupNotFound(group, memberId);
    if (!reply.ok) throw zkError(reply.rc, this.failure("join", group, memberId));
    if (this.owned) {
      const rc = await restrict(session, path);
      if (rc !== Rc.OK) throw zkError(rc, this.failure("restrict the member's ACL", group, memberId));
    }
    const statted = await (pipelined ?? session.exists(path));
    if (!statted.ok) throw zkError(statted.rc, this.failure("join", group, memberId));
    let stat = statted.value;
    if (stat.version !== 0) {
      // Someone wrote to it in the instant before its ACL was restricted: put our data back.
      const rewritten = await session.set(path, data, -1);
      if (!rewritten.ok) throw zkError(rewritten.rc, this.failure("join", group, memberId));
      stat = rewritten.value;
    }
    const member: Member = {
      id: memberId,
      group,
      metadata,
      seq: BigInt(stat.czxid),
      joinedAt: stat.ctime,
      updatedAt: stat.ctime,
    };
    this.held.set(heldKey(group, memberId), {
      group,
      memberId,
      czxid: stat.czxid,
      version: stat.version,
      initial: metadata,
      member,
      chain: Promise.resolve(),
    });
    this.journal.serverTime(stat.ctime.getTime());
    this.journal.sweepSoon(session, group);
    return member;
  }

  /**
   * A join that found the member's znode. Ours when its ephemeral owner is this session (an earlier
   * join whose answer was lost had landed): the member as it is, with its original `seq` and the
   * metadata asked for (written as {@link update} would). Anyone else's: `MEMBER_EXISTS`.
   */
  private async rejoin(
    session: ZkSession,
    group: string,
    memberId: string,
    metadata: Metadata,
  ): Promise<Member> {
    const path = this.layout.member(group, memberId);
    const got = await session.get(path);
    if (got.rc === Rc.NONODE || (got.ok && got.value.stat.ephemeralOwner !== session.sessionId)) {
      throw memberExists(group, memberId);
    }
    if (!got.ok) throw zkError(got.rc, this.failure("join", group, memberId));
    const { stat, data } = got.value;
    const current = decodeMetadata(data);
    const member: Member = {
      id: memberId,
      group,
      metadata: current,
      seq: BigInt(stat.czxid),
      joinedAt: stat.ctime,
      updatedAt: stat.version === 0 ? stat.ctime : stat.mtime,
    };
    const key = heldKey(group, memberId);
    if (this.held.get(key)?.czxid !== stat.czxid) {
      // The lost answer may have been the create's, before the ACL was restricted.
      if (this.owned) {
        const rc = await restrict(session, path);
        if (rc !== Rc.OK) throw zkError(rc, this.failure("restrict the member's ACL", group, memberId));
      }
      this.held.set(key, {
        group,
        memberId,
        czxid: stat.czxid,
        version: stat.version,
        initial: current,
        member,
        chain: Promise.resolve(),
      });
    }
    if (JSON.stringify(current) === JSON.stringify(metadata)) return member;
    return this.update(group, memberId, metadata);
  }

  private holding(group: string, memberId: string, action: string): Held {
    const held = this.held.get(heldKey(group, memberId));
    if (!held) {
      throw memberNotJoined(group, memberId, action);
    }
    return held;
  }

  /** Runs `task` after the member's previous update or leave. */
  private serially<T>(held: Held, task: () => Promise<T>): Promise<T> {
    const result = held.chain.then(task, task);
    held.chain = result.catch(() => {});
    return result;
  }

  async leave(group: string, memberId: string): Promise<void> {
    const session = this.requireSession("leave", group);
    const held = this.holding(group, memberId, "leave");
    await this.serially(held, async () => {
      if (this.held.get(heldKey(group, memberId)) !== held) {
        throw memberNotJoined(group, memberId, "leave: it already left");
      }
      const rc = await this.writeLeaveIntent(session, held);
      if (isConnectionRc(rc)) throw zkError(rc, this.failure("leave", group, memberId));
      if (rc !== Rc.OK)
        this.logger.warn("could not write a leave intent: watchers will see the leave as an expiry", {
          group,
          rc,
        });
      const deleted = await session.delete(this.layout.member(group, memberId));
      if (!deleted.ok && deleted.rc !== Rc.NONODE)
        throw zkError(deleted.rc, this.failure("leave", group, memberId));
      this.held.delete(heldKey(group, memberId));
      if (deleted.rc === Rc.NONODE) {
        throw memberNotJoined(group, memberId, "leave: it was no longer there");
      }
      this.journal.sweepSoon(session, group);
    });
  }

  /** Writes the leave intent a watcher reads to tell `left` from `expired`. Resolves with the rc. */
  private async writeLeaveIntent(session: ZkSession, held: Held): Promise<number> {
    const path = this.layout.leaveRecord(held.group, held.memberId, held.czxid);
    const data = encodeRecord({ metadata: held.initial, joinedAt: held.member.joinedAt.getTime() });
    return this.journal.append(session, held.group, path, data);
  }

  async update(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const session = this.requireSession("update", group);
    const held = this.holding(group, memberId, "update");
    return this.serially(held, async () => {
      if (this.held.get(heldKey(group, memberId)) !== held) {
        throw memberNotJoined(group, memberId, "update: it left");
      }
      const path = this.layout.member(group, memberId);
      const set = await session.set(path, encodeMetadata(metadata), -1);
      if (set.rc === Rc.NONODE) {
        this.held.delete(heldKey(group, memberId));
        throw memberNotJoined(group, memberId, "update: it is no longer there");
      }
      if (!set.ok) throw zkError(set.rc, this.failure("update", group, memberId));
      const stat = set.value;
      const member: Member = { ...held.member, metadata, updatedAt: stat.mtime };
      held.version = stat.version;
      held.member = member;
      // The update record lets watchers replay every version in order; keep trying while the
      // session lives (a later record must never appear before this one).
      const record = encodeRecord({
        metadata,
        ...(stat.version === 1 ? { previous: held.initial } : {}),
        mzxid: stat.mzxid,
        updatedAt: stat.mtime.getTime(),
      });
      const recordPath = this.layout.updateRecord(group, memberId, held.czxid, stat.version);
      for (;;) {
        const rc = await this.journal.append(session, group, recordPath, record);
        if (rc === Rc.OK) break;
        if (!isConnectionRc(rc) || session.state === "expired" || session.state === "closed") {
          this.logger.warn("could not write an update record: watchers may not see this update", {
            group,
            rc,
          });
          break;
        }
        await session.whenConnected().catch(() => {});
      }
      this.journal.serverTime(stat.mtime.getTime());
      this.journal.sweepSoon(session, group);
      return member;
    });
  }

  async members(group: string): Promise<GroupSnapshot> {
    const session = this.requireSession("members", group);
    const base = await this.readGroup(session, group);
    if (!base) throw groupNotFound(group);
    const revision = snapshotRevision(base.pzxid);
    this.snapshots.put(group, revision, base);
    return { members: [...base.view.values()].map((entry) => entry.member), revision };
  }

  /**
   * Lists the group and reads every member (pipelined, see {@link forEachPipelined}), as of the moment
   * of the call across the whole ensemble; `undefined` if the group does not exist. The view is in `seq`
   * (czxid) order, so that core's sort by `seq` finds it sorted.
   */
  private async readGroup(session: ZkSession, group: string): Promise<WatchBase | undefined> {
    // sync first (pipelined), so that a listing after another client's write sees it.
    const path = this.layout.group(group);
    const [, listed] = await Promise.all([session.sync(path), session.children(path)]);
    if (listed.rc === Rc.NONODE) return undefined;
    if (!listed.ok) throw zkError(listed.rc, this.failure("list the members", group));
    const { children, stat } = listed.value;
    const entries: ViewEntry[] = [];
    const add = (id: string, data: Buffer | string, s: BulkRead["stat"]): void => {
      const member: Member = {
        id,
        group,
        metadata: decodeMetadata(data),
        seq: BigInt(s.czxid),
        joinedAt: s.ctime,
        updatedAt: s.version === 0 ? s.ctime : s.mtime,
      };
      entries.push({ czxid: s.czxid, mzxid: s.mzxid, version: s.version, member });
    };
    const bulk = children.length >= BULK_READ_MIN ? await this.readInBulk(group, path, children) : undefined;
    if (bulk) {
      bulk.forEach((read, i) => {
        if (read) add(children[i] as string, read.text, read.stat); // null: left since the listing
      });
    } else {
      await forEachPipelined(children, READ_WINDOW, async (id) => {
        const got = await session.get(this.layout.member(group, id));
        if (got.rc === Rc.NONODE) return; // left since the listing
        if (!got.ok) throw zkError(got.rc, this.failure("read a member", group, id));
        add(id, got.value.data, got.value.stat);
      });
    }
    entries.sort((a, b) => a.czxid - b.czxid);
    const view = new Map<string, ViewEntry>();
    for (const entry of entries) view.set(entry.member.id, entry);
    return { pzxid: stat.pzxid, cversion: stat.cversion, children, view };
  }

  /**
   * Every member's data and stat in a few multi-reads on a connection of their own (see bulk-read.ts);
   * `undefined` when that cannot be done — then members are read one by one, and for the rest of this
   * session (a server older than 3.6 drops the connection at a multi-read).
   */
  private async readInBulk(
    group: string,
    path: string,
    children: readonly string[],
  ): Promise<(BulkRead | null)[] | undefined> {
    if (!this.bulkReads) return undefined;
    try {
      return await readMany(
        {
          addresses: shuffled(this.addresses),
          sessionTimeout: this.sessionTimeout,
          digest: this.#digest,
          syncPath: path,
          deadline: Math.max(5000, 2 * this.sessionTimeout),
        },
        children.map((id) => this.layout.member(group, id)),
      );
    } catch (error) {
      this.bulkReads = false;
      this.logger.info("reading members one by one: a ZooKeeper multi-read failed", {
        group,
        error: errorText(error),
      });
      return undefined;
    }
  }

  async watch(group: string, fromRevision: bigint, listener: WatchListener): Promise<WatchHandle> {
    const session = this.requireSession("watch", group);
    let base = this.snapshots.take(group, fromRevision);
    let resync: string | undefined;
    if (!base) {
      // Not started from our latest snapshot (e.g. core re-watches a group that was deleted).
      base = await this.readGroup(session, group);
      if (!base) {
        base = { pzxid: Number(fromRevision >> 20n), cversion: 0, children: [], view: new Map() };
      } else if (snapshotRevision(base.pzxid) !== fromRevision) {
        resync = "the watch did not start from a snapshot of this driver";
      }
    }
    const watch = new GroupWatch(session, this.layout, group, base, fromRevision, listener, {
      gapTimeout: this.sessionTimeout,
      servers: this.servers,
      logger: this.logger,
      journal: this.journal,
    });
    this.watches.add(watch);
    const handle: WatchHandle = {
      close: async () => {
        this.watches.delete(watch);
        await watch.close();
      },
    };
    if (resync !== undefined) {
      const reason = resync;
      queueMicrotask(() => watch.resync(reason));
    }
    return handle;
  }

  awaitGone(group: string, memberId: string, signal: AbortSignal, seq?: bigint): Promise<void> {
    return awaitGone(
      {
        session: () => this.requireSession("awaitGone", group),
        waiters: this.waiters,
        fail: (rc) => zkError(rc, this.failure("watch a member", group, memberId)),
      },
      this.layout.member(group, memberId),
      signal,
      seq,
    );
  }
}

function heldKey(group: string, memberId: string): string {
  return `${group}/${memberId}`;
}
