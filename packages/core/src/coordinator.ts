import type {
  Configuration,
  Coordinator,
  CoordinatorEvent,
  Election,
  ElectionOptions,
  GroupView,
  JoinOptions,
  LeadershipChange,
  Lock,
  WatchOptions,
} from "./api.js";
import { Candidacy, type CandidacyContext } from "./candidacy.js";
import { changeHintsOf } from "./change-hints.js";
import type { Characteristics } from "./characteristics.js";
import type { ConfigFeed } from "./config-feed.js";
import { type ConfigurationContext, CoordinatorConfiguration, configNotSupported } from "./configuration.js";
import type { Driver } from "./driver/driver.js";
import { CoordinatorElection, seatMismatch } from "./election.js";
import { memberExists } from "./errors/membership-errors.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { feedIterable } from "./feed-iterator.js";
import { GroupFeed } from "./group-feed.js";
import { FeedGroupView } from "./group-view.js";
import { bounded } from "./internal/abort.js";
import { backoff } from "./internal/backoff.js";
import { Listeners } from "./internal/listeners.js";
import { bySeq } from "./internal/member-order.js";
import { SharedFeeds } from "./internal/shared-feeds.js";
import { CoordinatorLock } from "./lock.js";
import { CoordinatorReactor } from "./reactor/reactor.js";
import { resolveReactorOptions } from "./reactor/reactor-options.js";
import type { Reactor, ReactorHandler, ReactorOptions } from "./reactor/reactor-types.js";
import { errorText, type LeadershipReport, Session } from "./session.js";
import type { Logger, Member, MembershipEvent, Metadata, SessionState } from "./types.js";
import type { CommonOptions } from "./url.js";
import {
  isInternalGroup,
  validateConfigName,
  validateElectionName,
  validateGroupName,
  validateInteger,
  validateMemberId,
  validateMetadata,
  validateOptions,
  validateSignal,
} from "./validation.js";

/** Everything a {@link SessionCoordinator} is built from; made by `connect()`. */
export interface CoordinatorInit {
  memberId: string;
  backend: string;
  redactedUrl: string;
  driver: Driver;
  options: CommonOptions;
  logger: Logger;
  /** What no connection failure may show (see {@link SessionOptions.secrets}). */
  secrets?: readonly string[];
}

const ELECTION_PREFIX = "_election.";
const LOCK_PREFIX = "_lock.";

/** Writes whose answer can be lost on the way back after the server applied them. */
const WRITES = new Set(["join", "leave", "updateMetadata", "createGroup", "deleteGroup"]);

/** Appended to a `CONNECTION` or `TIMEOUT` error of a write. */
const OUTCOME_UNKNOWN =
  "the outcome is unknown (the server may have applied it before the answer was lost); retrying join, leave or updateMetadata is safe";

/** A write failed this way may or may not have been applied by the server. */
function isOutcomeUnknown(error: unknown): boolean {
  return RollcallError.hasCode(error, "CONNECTION") || RollcallError.hasCode(error, "TIMEOUT");
}

/**
 * The one implementation of {@link Coordinator}, over any driver: validation, the session state
 * machine, re-join after expiry, shared group feeds (watch, view), elections, locks.
 */
export class SessionCoordinator implements Coordinator, CandidacyContext {
  readonly memberId: string;
  readonly backend: string;
  readonly driver: Driver;
  readonly session: Session;
  readonly logger: Logger;
  readonly retryInterval: number;
  private readonly options: CommonOptions;
  private readonly redactedUrl: string;
  /** Groups this coordinator joined, with the metadata to re-join with. */
  private readonly joined = new Map<string, Metadata>();
  /**
   * Groups whose last `leave()` failed with an unknown outcome (the request may or may not have been
   * applied): not re-joined after a re-open, since the caller asked to leave; a `join()` goes to the
   * driver (idempotent for this session) and a retried `leave()` that finds no member succeeds.
   */
  private readonly leaving = new Set<string>();
  private readonly feeds = new SharedFeeds<GroupFeed>();
  private readonly configFeeds = new SharedFeeds<ConfigFeed>();
  private configContext: ConfigurationContext | undefined;
  private readonly reactors = new Set<CoordinatorReactor>();
  private readonly candidacies = new Map<string, Candidacy>();
  private readonly lockHandles = new Map<string, CoordinatorLock>();
  private readonly sessionListeners = new Listeners<[SessionState, SessionState]>();
  private readonly rejoinedListeners = new Listeners<[string[]]>();
  private readonly renewedListeners = new Listeners<[number]>();
  private readonly leadershipListeners = new Listeners<[LeadershipChange]>();
  private readonly lockAcquiredListeners = new Listeners<[string, number, bigint]>();
  private closing: Promise<void> | undefined;

  constructor(init: CoordinatorInit) {
    this.memberId = init.memberId;
    this.backend = init.backend;
    this.driver = init.driver;
    this.options = init.options;
    this.logger = init.logger;
    this.retryInterval = init.options.retryInterval;
    this.redactedUrl = init.redactedUrl;
    this.session = new Session(init.driver, {
      retryInterval: init.options.retryInterval,
      connectTimeout: init.options.connectTimeout,
      logger: init.logger,
      ...(init.secrets === undefined ? {} : { secrets: init.secrets }),
    });
    this.session.stateChanged.add((state, previous) =>
      this.sessionListeners.emit(this.logger, "session", state, previous),
    );
    this.session.reopened.add(() => void this.rejoin());
    this.session.renewals.add((roundTrip) => this.renewedListeners.emit(this.logger, "renewed", roundTrip));
    this.session.leaderships.add((leadership, state, reason) => this.onLeadership(leadership, state, reason));
  }

  /** Opens the first session. */
  async open(signal?: AbortSignal): Promise<void> {
    await this.session.open(signal);
  }

  get characteristics(): Characteristics {
    return { ...this.driver.characteristics };
  }

  get state(): SessionState {
    return this.session.state;
  }

  get sessionTimeout(): number {
    return this.driver.sessionTimeout;
  }

  // biome-ignore lint/suspicious/noExplicitAny: overloads are declared on the interface
  on(event: CoordinatorEvent, listener: (...args: any[]) => void): this {
    const listeners = this.listenersOf(event);
    if (listeners === undefined)
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `unknown event ${JSON.stringify(event)}: use "session", "rejoined", "renewed", "leadership" or "lockAcquired"`,
      );
    if (typeof listener !== "function")
      throw new RollcallError("INVALID_ARGUMENT", `the ${event} listener must be a function`);
    listeners.add(listener);
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: listeners of several shapes are removed by identity
  off(event: CoordinatorEvent, listener: (...args: any[]) => void): this {
    this.listenersOf(event)?.remove(listener);
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: one registry per event, each with its own listener shape
  private listenersOf(event: CoordinatorEvent): Listeners<any[]> | undefined {
    switch (event) {
      case "session":
        return this.sessionListeners as Listeners<unknown[]>;
      case "rejoined":
        return this.rejoinedListeners as Listeners<unknown[]>;
      case "renewed":
        return this.renewedListeners as Listeners<unknown[]>;
      case "leadership":
        return this.leadershipListeners as Listeners<unknown[]>;
      case "lockAcquired":
        return this.lockAcquiredListeners as Listeners<unknown[]>;
      default:
        return undefined;
    }
  }

  /** A leadership on this session began or ended: told to `leadership` listeners. */
  private onLeadership(
    leadership: LeadershipReport,
    state: "elected" | "ended",
    reason: string | undefined,
  ): void {
    const { kind, name, token } = leadership;
    this.leadershipListeners.emit(this.logger, "leadership", {
      kind,
      name,
      token,
      state,
      ...(reason === undefined ? {} : { reason }),
    });
  }

  /** @internal Called by a lock of this coordinator when it was acquired. */
  lockAcquired(name: string, waited: number, token: bigint): void {
    this.lockAcquiredListeners.emit(this.logger, "lockAcquired", name, waited, token);
  }

  /** @internal Throws `NOT_CONNECTED` once closed. */
  assertOpen(): void {
    if (this.closing !== undefined || this.session.state === "closed") {
      throw new RollcallError("NOT_CONNECTED", "the coordinator is closed");
    }
  }

  private async call<T>(
    what: string,
    operation: () => Promise<T>,
    context: { group?: string; memberId?: string } = {},
  ): Promise<T> {
    this.assertOpen();
    if (this.session.state === "expired") {
      throw new RollcallError(
        "NOT_CONNECTED",
        `${what}: the session expired and is being re-opened`,
        context,
      );
    }
    try {
      return await operation();
    } catch (error) {
      const unknownOutcome = WRITES.has(what) ? ` ${OUTCOME_UNKNOWN}` : "";
      if (RollcallError.isInstance(error)) {
        if (!unknownOutcome || !isOutcomeUnknown(error)) throw error;
        throw new RollcallError(error.code, `${error.message};${unknownOutcome}`, {
          cause: error,
          ...context,
        });
      }
      throw new RollcallError(
        "CONNECTION",
        `${what} failed on ${this.redactedUrl}: ${errorText(error)};${unknownOutcome}`,
        { cause: error, ...context },
      );
    }
  }

  async createGroup(group: string): Promise<void> {
    validateGroupName(group);
    await this.call("createGroup", () => this.driver.createGroup(group), { group });
  }

  async deleteGroup(group: string): Promise<void> {
    validateGroupName(group);
    await this.call("deleteGroup", () => this.driver.deleteGroup(group), { group });
  }

  async groups(): Promise<string[]> {
    const all = await this.call("groups", () => this.driver.listGroups());
    return all.filter((g) => !isInternalGroup(g)).sort();
  }

  async elections(): Promise<string[]> {
    return this.internalNames(ELECTION_PREFIX);
  }

  async locks(): Promise<string[]> {
    return this.internalNames(LOCK_PREFIX);
  }

  /** The names of the internal groups with `prefix`, without it, sorted. */
  private async internalNames(prefix: string): Promise<string[]> {
    const all = await this.call("groups", () => this.driver.listGroups());
    return all
      .filter((g) => g.startsWith(prefix))
      .map((g) => g.slice(prefix.length))
      .sort();
  }

  async join(group: string, options?: JoinOptions): Promise<Member> {
    validateGroupName(group);
    validateOptions("join options", options);
    const metadata = validateMetadata(options?.metadata, this.options.maxMetadataBytes);
    if (options?.createGroup !== undefined && typeof options.createGroup !== "boolean") {
      throw new RollcallError("INVALID_ARGUMENT", "createGroup must be a boolean");
    }
    if (this.joined.has(group)) {
      // A join this coordinator knows succeeded; a retry after an error reaches the driver, whose join
      // by the same session is idempotent (as does a join after a leave whose outcome is unknown).
      throw memberExists(group, this.memberId, "this coordinator joined it already");
    }
    const member = await this.call(
      "join",
      async () => {
        try {
          return await this.driver.join(group, this.memberId, metadata);
        } catch (error) {
          if (!options?.createGroup || !RollcallError.hasCode(error, "GROUP_NOT_FOUND")) throw error;
          await this.driver.createGroup(group).catch((e: unknown) => {
            if (!RollcallError.hasCode(e, "GROUP_EXISTS")) throw e;
          });
          return await this.driver.join(group, this.memberId, metadata);
        }
      },
      { group, memberId: this.memberId },
    );
    this.leaving.delete(group);
    this.joined.set(group, metadata);
    return member;
  }

  async leave(group: string): Promise<void> {
    validateGroupName(group);
    try {
      await this.call("leave", () => this.driver.leave(group, this.memberId), {
        group,
        memberId: this.memberId,
      });
    } catch (error) {
      // Joined as far as this coordinator knows, gone on the server: an earlier leave whose answer was
      // lost did land, or the member went with an expired session. Either way the caller's wish holds.
      const known = this.joined.has(group) || this.leaving.has(group);
      if (!(RollcallError.hasCode(error, "MEMBER_NOT_JOINED") && known)) {
        if (this.joined.has(group) && isOutcomeUnknown(error)) {
          // The caller asked to leave: whatever happened, this member is no longer re-joined, and the
          // caller may join again (its member, if still there, is returned) or retry the leave.
          this.joined.delete(group);
          this.leaving.add(group);
        }
        throw error;
      }
    }
    this.joined.delete(group);
    this.leaving.delete(group);
  }

  async members(group: string): Promise<Member[]> {
    validateGroupName(group);
    const snapshot = await this.call("members", () => this.driver.members(group), { group });
    return snapshot.members.sort(bySeq);
  }

  async member(group: string, memberId: string): Promise<Member> {
    validateGroupName(group);
    validateMemberId(memberId);
    const members = await this.members(group);
    const found = members.find((m) => m.id === memberId);
    if (!found)
      throw new RollcallError("MEMBER_NOT_FOUND", `${memberId} is not a member of ${group}`, {
        group,
        memberId,
      });
    return found;
  }

  async updateMetadata(group: string, metadata: Metadata): Promise<Member> {
    validateGroupName(group);
    const checked = validateMetadata(metadata, this.options.maxMetadataBytes);
    const member = await this.call(
      "updateMetadata",
      () => this.driver.update(group, this.memberId, checked),
      {
        group,
        memberId: this.memberId,
      },
    );
    if (this.joined.has(group)) this.joined.set(group, checked);
    return member;
  }

  /** @internal A shared feed of a group, released when the last user lets go. */
  async acquireFeed(group: string, create = false): Promise<{ feed: GroupFeed; release(): void }> {
    this.assertOpen();
    if (create && !this.feeds.has(group)) {
      await this.driver.createGroup(group).catch((e: unknown) => {
        if (!RollcallError.hasCode(e, "GROUP_EXISTS")) throw e;
      });
    }
    return this.feeds.acquire(
      group,
      () =>
        new GroupFeed(group, this.driver, this.session, {
          pollInterval: this.options.pollInterval,
          retryInterval: this.options.retryInterval,
          logger: this.logger,
        }),
      (error) =>
        RollcallError.isInstance(error)
          ? error
          : new RollcallError(
              "CONNECTION",
              `watching ${group} failed on ${this.redactedUrl}: ${errorText(error)}`,
              {
                cause: error,
                group,
              },
            ),
    );
  }

  watch(group: string, options?: WatchOptions): AsyncIterable<MembershipEvent> {
    validateGroupName(group);
    validateOptions("watch options", options);
    const signal = validateSignal("signal", options?.signal);
    this.assertOpen();
    return feedIterable<MembershipEvent>(
      () => this.acquireFeed(group),
      signal,
      (feed) => ({ type: "snapshot", group, members: feed.members() }),
      (_feed, event) => event,
    );
  }

  async view(group: string): Promise<GroupView> {
    validateGroupName(group);
    const lease = await this.acquireFeed(group);
    return new FeedGroupView(lease.feed, lease.release, this.logger);
  }

  /** @internal The shared candidacy of an election. */
  candidacy(name: string, seats: number, metadata: Metadata | undefined): Candidacy {
    const group = ELECTION_PREFIX + name;
    let candidacy = this.candidacies.get(group);
    if (candidacy && candidacy.seats !== seats) {
      if (candidacy.isActive) throw seatMismatch(name, seats, candidacy.seats);
      candidacy = undefined;
    }
    if (!candidacy) {
      candidacy = new Candidacy(this, name, group, seats, metadata ?? {}, "election");
      this.candidacies.set(group, candidacy);
    }
    return candidacy;
  }

  /** @internal The shared candidacy of a lock. */
  lockCandidacy(name: string): Candidacy {
    const group = LOCK_PREFIX + name;
    let candidacy = this.candidacies.get(group);
    if (!candidacy) {
      candidacy = new Candidacy(this, name, group, 1, {}, "lock");
      this.candidacies.set(group, candidacy);
    }
    return candidacy;
  }

  /** @internal The first `seats` members of an election group. */
  async seatHolders(group: string, seats: number): Promise<Member[]> {
    try {
      const snapshot = await this.call("leaders", () => this.driver.members(group), { group });
      return snapshot.members.sort(bySeq).slice(0, seats);
    } catch (error) {
      if (RollcallError.hasCode(error, "GROUP_NOT_FOUND")) return [];
      throw error;
    }
  }

  election(name: string, options?: ElectionOptions): Election {
    validateElectionName(name);
    validateOptions("election options", options);
    const seats = options?.seats === undefined ? 1 : validateInteger("seats", options.seats, 1, 1000);
    const metadata =
      options?.metadata === undefined
        ? undefined
        : validateMetadata(options.metadata, this.options.maxMetadataBytes);
    this.assertOpen();
    return new CoordinatorElection(this, name, ELECTION_PREFIX + name, seats, metadata);
  }

  async leader(name: string): Promise<Member | undefined> {
    validateElectionName(name);
    const [first] = await this.seatHolders(ELECTION_PREFIX + name, 1);
    return first;
  }

  config(name: string): Configuration {
    validateConfigName(name);
    this.assertOpen();
    return new CoordinatorConfiguration(name, this.configuration());
  }

  async configs(): Promise<string[]> {
    const context = this.configuration();
    const names = await context.run("configs", () => context.driver.stores());
    return [...new Set(names)].sort();
  }

  async reactor(group: string, handler: ReactorHandler, options?: ReactorOptions): Promise<Reactor> {
    validateGroupName(group);
    const resolved = resolveReactorOptions(group, handler, options, this.driver.sessionTimeout);
    this.configuration();
    await this.members(group);
    const reactor = new CoordinatorReactor(this, group, handler, resolved);
    this.reactors.add(reactor);
    reactor.on("state", (state) => {
      if (state === "closed") this.reactors.delete(reactor);
    });
    reactor.start();
    return reactor;
  }

  /** The context every {@link CoordinatorConfiguration} of this coordinator shares. */
  private configuration(): ConfigurationContext {
    if (this.configContext) return this.configContext;
    const driver = this.driver.configStore;
    if (driver === undefined || this.driver.characteristics.config === "none")
      throw configNotSupported(this.backend);
    const hints = changeHintsOf(this.driver);
    this.configContext = {
      driver,
      session: this.session,
      ...(hints ? { hints } : {}),
      feedOptions: {
        pollInterval: this.options.pollInterval,
        retryInterval: this.options.retryInterval,
        logger: this.logger,
      },
      maxValueBytes: this.options.maxMetadataBytes,
      configFeeds: this.configFeeds,
      assertOpen: () => this.assertOpen(),
      run: async (what, operation, key) => {
        this.assertOpen();
        try {
          return await operation();
        } catch (error) {
          if (RollcallError.isInstance(error)) throw error;
          throw new RollcallError(
            "CONNECTION",
            `${what} failed on ${this.redactedUrl}: ${errorText(error)}`,
            {
              cause: error,
              ...(key === undefined ? {} : { key }),
            },
          );
        }
      },
    };
    return this.configContext;
  }

  lock(name: string): Lock {
    validateElectionName(name);
    this.assertOpen();
    let lock = this.lockHandles.get(name);
    if (!lock) {
      lock = new CoordinatorLock(this, name, LOCK_PREFIX + name);
      this.lockHandles.set(name, lock);
    }
    return lock;
  }

  private async rejoin(): Promise<void> {
    const groups: string[] = [];
    for (const [group, metadata] of [...this.joined]) {
      for (let attempt = 0; ; attempt++) {
        if (this.closing !== undefined || this.session.state !== "connected") return;
        if (!this.joined.has(group)) break; // left while re-joining
        try {
          await this.driver.join(group, this.memberId, metadata);
          groups.push(group);
          break;
        } catch (error) {
          if (RollcallError.hasCode(error, "GROUP_NOT_FOUND")) {
            this.logger.warn("cannot re-join: the group was deleted", { group });
            this.joined.delete(group);
            break;
          }
          // MEMBER_EXISTS: the old session's member is still being expired by the server.
          this.logger.debug("re-join failed; will retry", { group, error: errorText(error), attempt });
          await new Promise((r) =>
            setTimeout(r, backoff(attempt, { initial: 100, max: Math.min(this.retryInterval, 3200) })),
          );
        }
      }
    }
    this.logger.info("re-joined after the session was re-opened", { groups });
    this.rejoinedListeners.emit(this.logger, "rejoined", groups);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    // A reactor's handler may still run: it was told (its signal aborts with the leadership), not awaited.
    await Promise.allSettled([...this.reactors].map((r) => bounded(r.close(), 1000, "closing a reactor")));
    await Promise.allSettled([...this.candidacies.values()].map((c) => c.withdraw()));
    this.feeds.stopAll();
    this.configFeeds.stopAll();
    try {
      await this.driver.close();
    } catch (error) {
      this.logger.warn("closing the driver failed", { error: errorText(error) });
    }
    this.joined.clear();
    this.leaving.clear();
    this.session.markClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `Coordinator(${this.backend} ${this.redactedUrl} as ${this.memberId}, ${this.state})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
