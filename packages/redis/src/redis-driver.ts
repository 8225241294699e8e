import { randomBytes } from "node:crypto";
import {
  backoff,
  bounded,
  type Characteristics,
  type ConfigDriver,
  type Driver,
  type DriverConfig,
  driverClosed,
  driverOptions,
  type ErrorCode,
  ErrorCodes,
  type GroupSnapshot,
  groupExists,
  groupNotEmpty,
  groupNotFound,
  type Member,
  type Metadata,
  memberExists,
  memberNotJoined,
  noSession,
  openFailure,
  type Renewal,
  RollcallError,
  type SessionListener,
  sessionExpired,
  TtlSession,
  type WatchHandle,
  type WatchListener,
} from "@rollcall/core/driver";
import { Redis } from "ioredis";
import { ChannelHub, type ChannelSubscriber } from "./channel-hub.js";
import { type ConfigMessage, decodeConfigChange } from "./config-records.js";
import { ConfigWatch } from "./config-watch.js";
import { GoneWaiter } from "./gone-waiter.js";
import { type ChangeLogReply, GroupWatch } from "./group-watch.js";
import { KeySpace } from "./key-space.js";
import { type LuaScript, SCRIPTS } from "./lua-scripts.js";
import { type ChangeMessage, decodeChange, decodeMember } from "./records.js";
import { RedisConfigStore } from "./redis-config.js";
import { loadTlsCa, REDIS_PARAMS, type RedisTarget, readRedisTarget } from "./redis-options.js";

type Reply = string | number | null | Reply[];

/** What an error is about, for its message and fields. */
interface ErrorContext {
  group?: string;
  memberId?: string;
  key?: string;
}

/** How long close() waits for the graceful leave of every member, then for QUIT: never hangs on a dead server. */
const CLOSE_BOUND_MS = 2000;
const QUIT_BOUND_MS = 500;

/**
 * The Redis driver. One ioredis connection (RESP3, so commands and pub/sub share it) per coordinator;
 * the session is a key with a TTL plus an entry in a deadline index, refreshed by a Lua script that
 * also reaps every session past its deadline. Membership, seq, the change log and the published
 * change are written by one script each, so they are atomic and ordered. The configuration store
 * (`RedisConfigStore`) shares the connection, the revision counter and the watch mechanism, and
 * nothing else: its entries belong to no session.
 */
export class RedisDriver implements Driver {
  readonly characteristics: Characteristics;
  private readonly target: RedisTarget;
  private readonly keys: KeySpace;
  private client: Redis | undefined;
  /** The current session: its id (the `s/<id>` key) and its keeper. */
  private session: { id: string; keeper: TtlSession } | undefined;
  private epoch: string | undefined;
  private lastError: Error | undefined;
  private closing: Promise<void> | undefined;
  private tlsLoaded = false;
  private readonly hub: ChannelHub<ChangeMessage>;
  private readonly configHub: ChannelHub<ConfigMessage>;
  /**
   * The configuration store. `volatile`: whether entries survive a restart depends on the server's
   * persistence settings (`appendonly`, RDB `save`), which the driver cannot rely on — see the README.
   */
  readonly configStore: ConfigDriver;
  /** Groups this driver created or joined: restored after Redis lost its data (a new epoch). */
  private readonly knownGroups = new Set<string>();

  constructor(private readonly config: DriverConfig) {
    this.target = readRedisTarget(config.url, driverOptions(config, REDIS_PARAMS).options);
    this.keys = new KeySpace(config.namespace);
    const keys = this.keys;
    this.hub = new ChannelHub<ChangeMessage>(
      {
        what: "group",
        channel: (group) => keys.channel(group),
        topicOf: (channel) => keys.groupOfChannel(channel),
        decode: decodeChange,
      },
      () => this.client,
      config.logger,
    );
    this.configHub = new ChannelHub<ConfigMessage>(
      {
        what: "configuration",
        channel: (store) => keys.configChannel(store),
        topicOf: (channel) => keys.storeOfChannel(channel),
        decode: (_store, text) => decodeConfigChange(text),
      },
      () => this.client,
      config.logger,
    );
    this.configStore = new RedisConfigStore({
      keys,
      run: (script, args, key) => this.run(script, args, key === undefined ? {} : { key }),
      command: (operation, key) => this.command(operation, key === undefined ? {} : { key }),
      subscribe: (store, subscriber) => this.subscribeTo(this.configHub, store, subscriber, {}),
    });
    this.characteristics = {
      scope: "cluster",
      liveness: "ttl",
      watch: "push",
      leaveReason: true,
      // Sentinel failover promotes an asynchronously replicated copy: acknowledged writes may be lost.
      consistency: this.target.sentinel ? "sequential" : "linearizable",
      // Entries outlive sessions and connections, but a restart keeps them only if the server persists.
      config: "volatile",
    };
  }

  get sessionTimeout(): number {
    return this.config.sessionTimeout;
  }

  async open(listener: SessionListener, signal: AbortSignal): Promise<void> {
    this.assertOpen();
    this.session?.keeper.stop();
    this.session = undefined;
    const client = await this.connection();
    await this.whenReady(client, signal);
    const id = randomBytes(16).toString("hex");
    const ttl = this.config.sessionTimeout;
    const restore = this.epoch === undefined ? [] : [...this.knownGroups];
    const sentAt = performance.now();
    const reply = (await this.run(SCRIPTS.open, [
      id,
      ttl,
      this.config.memberId,
      randomBytes(8).toString("hex"),
      this.epoch ?? "",
      ...restore,
    ])) as Reply[];
    const openedAt = performance.now();
    const epoch = String(reply[1]);
    if (this.epoch !== undefined && epoch !== this.epoch) {
      this.config.logger.warn("redis lost its data (new namespace epoch): sessions and groups start over", {
        restoredGroups: Number(reply[2]),
      });
    }
    this.epoch = epoch;
    if (this.closing !== undefined) throw driverClosed("Redis", "open a session");
    const keeper = new TtlSession({
      listener,
      ttl,
      renew: () => this.refresh(id),
      logger: this.config.logger,
      openedAt,
    });
    this.session = { id, keeper };
    listener.renewed(sentAt);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async createGroup(group: string): Promise<void> {
    await this.run(SCRIPTS.createGroup, [group], { group });
    this.knownGroups.add(group);
  }

  async deleteGroup(group: string): Promise<void> {
    await this.run(SCRIPTS.deleteGroup, [group], { group });
    this.knownGroups.delete(group);
  }

  async listGroups(): Promise<string[]> {
    this.assertOpen();
    try {
      return await this.ready().smembers(`${this.keys.prefix}groups`);
    } catch (error) {
      throw this.translate(error, {});
    }
  }

  async join(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const json = JSON.stringify(metadata);
    const reply = (await this.write(SCRIPTS.join, [group, memberId, json], { group, memberId })) as Reply[];
    this.knownGroups.add(group);
    // A retried join that finds this session's member gets its original seq and join time back.
    return {
      id: memberId,
      group,
      metadata: JSON.parse(json) as Metadata,
      seq: BigInt(String(reply[0])),
      joinedAt: new Date(Number(reply[1])),
      updatedAt: new Date(Number(reply[2])),
    };
  }

  async leave(group: string, memberId: string): Promise<void> {
    await this.write(SCRIPTS.leave, [group, memberId], { group, memberId });
  }

  async update(group: string, memberId: string, metadata: Metadata): Promise<Member> {
    const json = JSON.stringify(metadata);
    const reply = (await this.write(SCRIPTS.update, [group, memberId, json], { group, memberId })) as Reply[];
    return {
      id: memberId,
      group,
      metadata: JSON.parse(json) as Metadata,
      seq: BigInt(String(reply[0])),
      joinedAt: new Date(Number(reply[1])),
      updatedAt: new Date(Number(reply[2])),
    };
  }

  async members(group: string): Promise<GroupSnapshot> {
    const reply = (await this.run(SCRIPTS.members, [group], { group })) as Reply[];
    const flat = (reply[1] ?? []) as string[];
    const members: Member[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      members.push(decodeMember(group, String(flat[i]), String(flat[i + 1])));
    }
    return { members, revision: BigInt(String(reply[0])) };
  }

  async watch(group: string, fromRevision: bigint, listener: WatchListener): Promise<WatchHandle> {
    this.assertOpen();
    let release = (): void => {};
    const watch = new GroupWatch(
      group,
      fromRevision,
      listener,
      (g, after) => this.readChanges(g, after),
      () => release(),
    );
    release = await this.subscribe(group, watch);
    await watch.start();
    return watch;
  }

  async awaitGone(group: string, memberId: string, signal: AbortSignal, seq?: bigint): Promise<void> {
    this.assertOpen();
    signal.throwIfAborted();
    let release = (): void => {};
    let settle: (error?: unknown) => void = () => {};
    const settled = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    settled.catch(() => {}); // may settle (abort) before it is awaited
    // Still there? Another seq under the same id is a later incarnation: the one awaited is gone.
    const check = async () => {
      const current = String((await this.run(SCRIPTS.present, [group, memberId], { group, memberId })) ?? "");
      return current !== "" && (seq === undefined || BigInt(current) === seq);
    };
    const waiter = new GoneWaiter(
      memberId,
      seq,
      check,
      (error) => settle(error),
      Math.min(1000, Math.max(50, this.config.sessionTimeout / 4)),
    );
    const onAbort = () => {
      waiter.cancel();
      settle(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      release = await this.subscribe(group, waiter);
      waiter.verify();
      await settled;
    } finally {
      waiter.cancel();
      signal.removeEventListener("abort", onAbort);
      release();
    }
  }

  // ---- connection -------------------------------------------------------------------------------

  private async connection(): Promise<Redis> {
    if (this.client) return this.client;
    if (!this.tlsLoaded) {
      await loadTlsCa(this.target);
      this.tlsLoaded = true;
    }
    if (this.client) return this.client;
    const ttl = this.config.sessionTimeout;
    const client = new Redis({
      ...this.target.options,
      lazyConnect: true,
      protocol: 3,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: Math.max(1000, Math.floor(ttl / 2)),
      connectTimeout: Math.max(1000, ttl),
      retryStrategy: (times) => backoff(times, { initial: 25, max: 500 }),
      connectionName: `rollcall:${this.config.memberId}`,
      disableClientInfo: true,
    });
    client.on("error", (error: Error) => {
      this.lastError = error;
      this.config.logger.debug("redis connection error", { error: error.message, server: this.target.where });
    });
    client.on("close", () => this.onDisconnected());
    client.on("ready", () => void this.onReady(client));
    client.on("message", (channel: string, text: string) => {
      this.hub.dispatch(channel, text);
      this.configHub.dispatch(channel, text);
    });
    this.client = client;
    return client;
  }

  private whenReady(client: Redis, signal: AbortSignal): Promise<void> {
    if (client.status === "ready") return Promise.resolve();
    if (client.status === "wait") client.connect().catch(() => {});
    return new Promise((resolve, reject) => {
      const onReady = () => finish();
      const onAbort = () =>
        finish(
          openFailure(
            "unreachable",
            `cannot reach Redis at ${this.target.where}${this.lastError ? `: ${this.lastError.message}` : ""}`,
            sanitize(this.lastError),
          ),
        );
      // Refused credentials will not get better by retrying: fail now, not at the connect timeout.
      const onError = (error: Error) => {
        if (!/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(error.message)) return;
        finish(
          openFailure(
            "refused",
            `Redis at ${this.target.where} refused the credentials: ${error.message}`,
            sanitize(error),
          ),
        );
      };
      const finish = (error?: RollcallError) => {
        client.off("ready", onReady);
        client.off("error", onError);
        signal.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve();
      };
      client.on("ready", onReady);
      client.on("error", onError);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private onDisconnected(): void {
    if (this.closing !== undefined) return;
    this.session?.keeper.suspend();
    this.hub.interrupted();
    this.configHub.interrupted();
  }

  // Subscriptions are renewed by the hub, not by ioredis, so that every watch reads its change log only
  // after its channel is subscribed again.
  private async onReady(client: Redis): Promise<void> {
    if (this.closing !== undefined || client !== this.client) return;
    this.session?.keeper.renewNow();
    await Promise.all([this.hub.resumed(client), this.configHub.resumed(client)]);
  }

  private subscribe(group: string, subscriber: ChannelSubscriber<ChangeMessage>): Promise<() => void> {
    return this.subscribeTo(this.hub, group, subscriber, { group });
  }

  private async subscribeTo<M>(
    hub: ChannelHub<M>,
    topic: string,
    subscriber: ChannelSubscriber<M>,
    context: ErrorContext,
  ): Promise<() => void> {
    const client = this.ready();
    try {
      return await hub.subscribe(client, topic, subscriber);
    } catch (error) {
      throw this.translate(error, context);
    }
  }

  // ---- scripts ----------------------------------------------------------------------------------

  private ready(): Redis {
    this.assertOpen();
    const client = this.client;
    if (!client) throw noSession("Redis", "the driver has not been opened");
    if (client.status !== "ready") {
      throw new RollcallError(
        "CONNECTION",
        `Redis at ${this.target.where} is not reachable (${client.status})`,
      );
    }
    return client;
  }

  /** Runs one command on the connection, with the errors translated as for scripts. */
  private async command<T>(operation: (client: Redis) => Promise<T>, context: ErrorContext): Promise<T> {
    const client = this.ready();
    try {
      return await operation(client);
    } catch (error) {
      throw this.translate(error, context);
    }
  }

  private async run(
    script: LuaScript,
    args: (string | number)[],
    context: ErrorContext = {},
  ): Promise<unknown> {
    const client = this.ready();
    const argv = [this.keys.prefix, this.target.logLength, ...args];
    try {
      try {
        return await client.evalsha(script.sha, 1, this.keys.sessions, ...argv);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return await client.eval(script.source, 1, this.keys.sessions, ...argv);
      }
    } catch (error) {
      throw this.translate(error, context);
    }
  }

  /** Runs a script that acts for the session (and renews it): join, leave, update. */
  private async write(script: LuaScript, args: string[], context: ErrorContext): Promise<unknown> {
    const session = this.session;
    if (!session?.keeper.live) throw noSession("Redis", "it expired and is being re-opened", context);
    const sentAt = performance.now();
    try {
      const reply = await this.run(script, [session.id, this.config.sessionTimeout, ...args], context);
      session.keeper.acknowledged(sentAt);
      return reply;
    } catch (error) {
      if (RollcallError.hasCode(error, "SESSION_EXPIRED"))
        session.keeper.expire("the session was gone when writing");
      throw error;
    }
  }

  /**
   * One renewal of the session key (the script also reaps every session past its deadline). When another
   * session's deadline comes before the next renewal, the next one runs right after it, so that expiry
   * is seen within the bound.
   */
  private async refresh(sessionId: string): Promise<Renewal> {
    const reply = (await this.run(SCRIPTS.refresh, [sessionId, this.config.sessionTimeout])) as Reply[];
    const earliest = reply[2] === "" || reply[2] == null ? undefined : Number(reply[2]);
    const alive = Number(reply[0]) === 1;
    return earliest === undefined ? { alive } : { alive, nextIn: earliest - Number(reply[1]) + 2 };
  }

  private async readChanges(group: string, after: bigint): Promise<ChangeLogReply> {
    const reply = (await this.run(SCRIPTS.changes, [group, after.toString()], { group })) as Reply[];
    const [epoch, created, floor, , entries] = reply;
    if (created === "" || created == null)
      return { exists: false, epoch: String(epoch), created: 0n, floor: 0n, messages: [] };
    const messages = ((entries ?? []) as Reply[][]).map((entry) => {
      const fields = (entry[1] ?? []) as Reply[];
      return decodeChange(group, String(fields[1]));
    });
    return {
      exists: true,
      epoch: String(epoch),
      created: BigInt(String(created)),
      floor: BigInt(String(floor)),
      messages,
    };
  }

  private translate(error: unknown, context: ErrorContext): RollcallError {
    if (RollcallError.isInstance(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    const code = /^ROLLCALL ([A-Z_]+)/.exec(message)?.[1];
    if (code !== undefined && (ErrorCodes as readonly string[]).includes(code)) {
      return scriptError(code as ErrorCode, context);
    }
    return new RollcallError("CONNECTION", `Redis at ${this.target.where}: ${message}`, {
      cause: sanitize(error),
      ...context,
    });
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw driverClosed("Redis");
  }

  private async shutdown(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    session?.keeper.stop();
    for (const subscriber of this.hub.subscribers()) {
      if (subscriber instanceof GroupWatch) void subscriber.close();
      if (subscriber instanceof GoneWaiter)
        subscriber.fail(driverClosed("Redis", "wait for a member to leave"));
    }
    for (const subscriber of this.configHub.subscribers()) {
      if (subscriber instanceof ConfigWatch) void subscriber.close();
    }
    this.hub.clear();
    this.configHub.clear();
    const client = this.client;
    if (!client) return;
    if (session && client.status === "ready") {
      const argv = [this.keys.prefix, this.target.logLength, session.id];
      const graceful = client
        .evalsha(SCRIPTS.close.sha, 1, this.keys.sessions, ...argv)
        .catch((error: unknown) => {
          if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
            return client.eval(SCRIPTS.close.source, 1, this.keys.sessions, ...argv);
          }
          throw error;
        });
      await bounded(graceful, CLOSE_BOUND_MS, "ending the session").catch((error: unknown) => {
        this.config.logger.warn("could not end the redis session gracefully; it will expire", {
          error: String(error),
        });
      });
    }
    if (client.status === "ready") await bounded(client.quit(), QUIT_BOUND_MS, "QUIT").catch(() => {});
    client.disconnect();
  }
}

/** The error a script's `ROLLCALL <code>` reply stands for. */
function scriptError(code: ErrorCode, context: ErrorContext): RollcallError {
  const group = context.group ?? "?";
  const member = context.memberId ?? "?";
  switch (code) {
    case "GROUP_EXISTS":
      return groupExists(group);
    case "GROUP_NOT_FOUND":
      return groupNotFound(group, context.memberId);
    case "GROUP_NOT_EMPTY":
      return groupNotEmpty(group);
    case "MEMBER_EXISTS":
      return memberExists(group, member);
    case "MEMBER_NOT_JOINED":
      return memberNotJoined(group, member);
    case "SESSION_EXPIRED":
      return sessionExpired("Redis", undefined, context);
    default:
      return new RollcallError(code, code, context);
  }
}

/**
 * ioredis errors carry the failed command with its arguments (an AUTH's password, a member's metadata):
 * keep only the name and message.
 */
function sanitize(error: unknown): Error | undefined {
  if (error === undefined) return undefined;
  if (!(error instanceof Error)) return new Error(String(error));
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}
