import type { Driver } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import type { GroupFeed } from "./group-feed.js";
import { delay, linkedSignal, raceAbort } from "./internal/abort.js";
import { backoff } from "./internal/backoff.js";
import { bySeq } from "./internal/member-order.js";
import { HeldLeadership } from "./leadership.js";
import type { Session } from "./session.js";
import { errorText } from "./session.js";
import type { Logger, Member, Metadata } from "./types.js";

/** What a candidacy needs from its coordinator. */
export interface CandidacyContext {
  memberId: string;
  driver: Driver;
  session: Session;
  logger: Logger;
  retryInterval: number;
  acquireFeed(group: string): Promise<{ feed: GroupFeed; release(): void }>;
}

/** How a candidacy behaves when a leadership ends. */
export type CandidacyKind = "election" | "lock";

interface Waiter {
  resolve(leadership: HeldLeadership | undefined): void;
  reject(error: unknown): void;
}

/**
 * This coordinator's candidacy in one election (or lock): a member of the election's internal group,
 * ordered by `seq`. The lowest `seats` members hold the seats. A one-seat candidate waits on its
 * predecessor only (the driver's `awaitGone`); with more seats (or without `awaitGone`) it follows the
 * group's feed. Either wait re-checks with a fresh read at least every session timeout (1 s at least), so
 * a missed notification delays a hand-over but never blocks it. An
 * election candidacy stays in (and is re-entered after session expiry) until withdrawn; a lock
 * candidacy is withdrawn as soon as its leadership ends.
 */
export class Candidacy {
  private active = false;
  private member: Member | undefined;
  private memberEpoch = -1;
  private leadership: HeldLeadership | undefined;
  private waiters: Waiter[] = [];
  private loopController: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private feedLease: { feed: GroupFeed; release(): void } | undefined;
  private tryMode = false;
  /** Consecutive loop rounds that ended without waiting on anything: they back off, never spin. */
  private quickRounds = 0;
  /** The first attempt of the latest withdrawal to remove the candidate. */
  private leaving: Promise<void> | undefined;
  /** How many times the candidacy was withdrawn. */
  private withdrawals = 0;
  /** This session's candidate entry that a withdrawal could not remove yet. */
  private leftover: { member: Member; epoch: number } | undefined;

  constructor(
    private readonly ctx: CandidacyContext,
    readonly name: string,
    readonly group: string,
    readonly seats: number,
    private metadata: Metadata,
    private readonly kind: CandidacyKind,
  ) {}

  get isActive(): boolean {
    return this.active;
  }

  /** The current leadership if it is still valid. */
  get heldLeadership(): HeldLeadership | undefined {
    return this.leadership?.isValid() ? this.leadership : undefined;
  }

  /**
   * Resolves with the next leadership; `signal` withdraws the candidacy. Rejects at once with
   * `ALREADY_HELD` while this coordinator holds a seat (elections are not re-entrant either: a second
   * holder of the same seat in one process is a bug to report, not a leadership to share).
   */
  campaign(signal?: AbortSignal, metadata?: Metadata): Promise<HeldLeadership> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.heldLeadership) {
      return Promise.reject(
        new RollcallError(
          "ALREADY_HELD",
          `${this.kind} ${this.name}: this coordinator already holds ${this.kind === "lock" ? "it" : "a seat"}; resign first`,
        ),
      );
    }
    if (metadata !== undefined) this.metadata = metadata;
    const promise = new Promise<HeldLeadership>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (l) => {
          signal?.removeEventListener("abort", onAbort);
          if (l) resolve(l);
          else reject(new RollcallError("NOT_LEADER", "the candidacy was withdrawn"));
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.reject(signal?.reason);
        void this.withdraw();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
    this.start();
    return promise;
  }

  /**
   * Joins once and reports whether a seat is free right now, without waiting; withdraws again when no
   * seat is held. Used by `tryAcquire`.
   */
  tryOnce(): Promise<HeldLeadership | undefined> {
    if (this.ctx.session.state !== "connected") {
      return Promise.reject(new RollcallError("NOT_CONNECTED", `the session is ${this.ctx.session.state}`));
    }
    this.tryMode = true;
    const promise = new Promise<HeldLeadership | undefined>((resolve, reject) =>
      this.waiters.push({ resolve, reject }),
    );
    this.start();
    return promise;
  }

  private start(): void {
    this.active = true;
    if (this.loop) return;
    const controller = new AbortController();
    this.loopController = controller;
    this.loop = this.run(controller.signal).finally(() => {
      if (this.loopController === controller) {
        this.loop = undefined;
        this.loopController = undefined;
      }
    });
  }

  private async ensureJoined(): Promise<Member> {
    const { driver, session, memberId } = this.ctx;
    if (this.member && this.memberEpoch === session.epoch) return this.member;
    this.member = undefined;
    for (;;) {
      const epoch = session.epoch;
      try {
        const member = await driver.join(this.group, memberId, this.metadata);
        if (!this.active) {
          // Withdrawn while the join was in flight: take the candidate out again.
          await driver.leave(this.group, memberId).catch(() => {});
          throw new RollcallError("NOT_LEADER", "the candidacy was withdrawn");
        }
        this.member = member;
        this.memberEpoch = epoch;
        this.leftover = undefined; // a driver's join by the same session takes its own entry back
        return member;
      } catch (error) {
        const leftover = this.leftover;
        if (RollcallError.hasCode(error, "MEMBER_EXISTS") && leftover?.epoch === session.epoch) {
          // Our own entry from a withdrawal whose leave failed: remove it rather than wait for it.
          if (await this.tryLeave(leftover.member)) {
            if (this.leftover === leftover) this.leftover = undefined;
            continue;
          }
        }
        if (RollcallError.hasCode(error, "GROUP_NOT_FOUND")) {
          await driver.createGroup(this.group).catch((e: unknown) => {
            if (!RollcallError.hasCode(e, "GROUP_EXISTS")) throw e;
          });
          continue;
        }
        throw error;
      }
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { session, logger } = this.ctx;
    let failures = 0;
    while (this.active && !signal.aborted) {
      // Aborts the current wait whenever the session changes state, so every wait re-evaluates.
      const step = new AbortController();
      const onState = () => step.abort(new RollcallError("NOT_CONNECTED", "session state changed"));
      const onAbort = () => step.abort(signal.reason);
      session.stateChanged.add(onState);
      signal.addEventListener("abort", onAbort, { once: true });
      const roundStarted = performance.now();
      try {
        await session.whenConnected(step.signal);
        const member = await raceAbort(this.ensureJoined(), step.signal);
        const position = await this.position(member, step.signal, this.tryMode);
        if (this.tryMode && position !== "seated") {
          this.tryMode = false;
          for (const waiter of this.waiters.splice(0)) waiter.resolve(undefined);
          await this.withdraw();
          return;
        }
        this.tryMode = false;
        if (position !== "seated") {
          if (position === "gone") this.member = undefined;
          failures = 0;
          await this.breathe(roundStarted, step.signal);
          continue;
        }
        if (!session.isValid()) {
          await delay(20, step.signal);
          continue;
        }
        this.quickRounds = 0;
        await this.lead(member, step.signal);
        if (this.kind === "lock") {
          // The end of the leadership already withdrew (and aborted this loop) unless it ended here.
          if (!signal.aborted) await this.withdraw();
          return;
        }
        failures = 0;
      } catch (error) {
        if (!this.active || signal.aborted) break;
        if (step.signal.aborted) continue;
        if (this.tryMode) {
          this.tryMode = false;
          for (const waiter of this.waiters.splice(0)) waiter.reject(error);
          await this.withdraw();
          return;
        }
        failures++;
        if (RollcallError.hasCode(error, "MEMBER_EXISTS")) {
          logger.debug("candidacy still present from an earlier session; waiting for it to go", {
            election: this.name,
          });
        } else {
          logger.warn("campaign step failed; will retry", { election: this.name, error: errorText(error) });
        }
        await delay(
          backoff(failures, { initial: 100, max: Math.min(this.ctx.retryInterval, 3200) }),
          signal,
        ).catch(() => {});
      } finally {
        session.stateChanged.remove(onState);
        signal.removeEventListener("abort", onAbort);
      }
    }
  }

  /**
   * Ends a round that found no seat. A round that returned without waiting on anything (a driver whose
   * `awaitGone` reports a predecessor gone that `members()` still lists, a read behind a notification)
   * would otherwise go round again in microtasks only, starving timers and I/O: such rounds wait on a
   * timer that doubles from 5 ms up to the periodic re-check interval.
   */
  private async breathe(roundStarted: number, signal: AbortSignal): Promise<void> {
    if (performance.now() - roundStarted >= 2) {
      this.quickRounds = 0;
      return;
    }
    this.quickRounds++;
    await delay(
      backoff(this.quickRounds - 1, { initial: 5, max: Math.min(5120, this.recheckInterval()) }),
      signal,
    );
  }

  /** How often a waiting candidate re-checks its predecessor even without a notification. */
  private recheckInterval(): number {
    return Math.max(1000, this.ctx.driver.sessionTimeout);
  }

  /**
   * Where this candidate stands: `seated`, or `gone` when its member vanished. Otherwise waits until
   * something that could change the answer happens and returns `waiting`.
   */
  private async position(
    member: Member,
    signal: AbortSignal,
    noWait: boolean,
  ): Promise<"seated" | "gone" | "waiting"> {
    const { driver } = this.ctx;
    if (this.seats === 1 && driver.awaitGone) {
      const sorted = (await raceAbort(driver.members(this.group), signal)).members.sort(bySeq);
      const index = sorted.findIndex((m) => m.id === member.id && m.seq === member.seq);
      if (index === -1) return "gone";
      if (index === 0) return "seated";
      if (noWait) return "waiting";
      const predecessor = sorted[index - 1] as Member;
      // Bounded: if the driver misses a re-incarnation of the predecessor, the next check finds it.
      // A plain timer: on Node 20 an AbortSignal.timeout inside AbortSignal.any can be collected.
      const recheck = linkedSignal([signal], this.recheckInterval());
      try {
        await driver.awaitGone(this.group, predecessor.id, recheck.signal, predecessor.seq);
      } catch (error) {
        if (signal.aborted || !recheck.timedOut) throw error;
      } finally {
        recheck.dispose();
      }
      return "waiting";
    }
    if (noWait) return this.readPosition(member, signal);
    const { feed } = await this.feed();
    await raceAbort(feed.ready, signal);
    const sorted = feed.members();
    const index = sorted.findIndex((m) => m.id === member.id && m.seq === member.seq);
    if (index === -1) {
      // Our own join may not have reached the feed yet: wait for the next change.
      if (!(await this.nextChange(feed, signal, this.recheckInterval())))
        return this.readPosition(member, signal);
      return feed.has(member.id) ? "waiting" : "gone";
    }
    if (index < this.seats) return "seated";
    // Bounded like the wait on a predecessor: a change the feed never delivers (a notification lost with
    // its connection, a watch behind a restarted server) costs one re-check interval, not the campaign.
    if (!(await this.nextChange(feed, signal, this.recheckInterval())))
      return this.readPosition(member, signal);
    return "waiting";
  }

  /** Where this candidate stands according to a fresh `members()` read rather than the feed. */
  private async readPosition(member: Member, signal: AbortSignal): Promise<"seated" | "gone" | "waiting"> {
    const sorted = (await raceAbort(this.ctx.driver.members(this.group), signal)).members.sort(bySeq);
    const index = sorted.findIndex((m) => m.id === member.id && m.seq === member.seq);
    return index === -1 ? "gone" : index < this.seats ? "seated" : "waiting";
  }

  /**
   * Resolves `true` at the feed's next change, or `false` once `timeout` ms passed without one (a plain
   * timer: see {@link position}); rejects when `signal` aborts.
   */
  private nextChange(feed: GroupFeed, signal: AbortSignal, timeout?: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const unsubscribe = feed.subscribe(() => finish(undefined, true));
      const onAbort = () => finish(signal.reason, false);
      const timer = timeout === undefined ? undefined : setTimeout(() => finish(undefined, false), timeout);
      const finish = (error: unknown, changed: boolean) => {
        unsubscribe();
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (error === undefined) resolve(changed);
        else reject(error);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private async feed(): Promise<{ feed: GroupFeed; release(): void }> {
    this.feedLease ??= await this.ctx.acquireFeed(this.group);
    return this.feedLease;
  }

  private async lead(member: Member, signal: AbortSignal): Promise<void> {
    // resign() withdraws the candidacy unless it was withdrawn since (a lock withdraws as its
    // leadership ends; a campaign started after that is not this leadership's to end).
    const generation = this.withdrawals;
    const leadership = new HeldLeadership(this.kind, this.name, member.seq, this.ctx.session, async () => {
      if (generation === this.withdrawals) await this.withdraw();
      else await this.leaving;
    });
    this.leadership = leadership;
    if (this.kind === "lock") {
      // A lock ends with its leadership: withdraw in the same tick (the first listener, before the
      // holder's own), so a holder that reacts to the signal by acquiring again is not refused.
      leadership.signal.addEventListener("abort", () => void this.withdraw(), { once: true });
    }
    for (const waiter of this.waiters.splice(0)) waiter.resolve(leadership);
    const { driver } = this.ctx;
    const watchSelf = new AbortController();
    const stop = () => watchSelf.abort();
    leadership.signal.addEventListener("abort", stop, { once: true });
    signal.addEventListener("abort", stop, { once: true });
    try {
      if (driver.awaitGone) {
        await driver.awaitGone(this.group, member.id, watchSelf.signal, member.seq).catch(() => {});
      } else {
        const { feed } = await this.feed();
        while (!watchSelf.signal.aborted && feed.get(member.id)?.seq === member.seq) {
          await this.nextChange(feed, watchSelf.signal).catch(() => {});
        }
      }
    } finally {
      leadership.signal.removeEventListener("abort", stop);
      signal.removeEventListener("abort", stop);
    }
    if (!leadership.signal.aborted && !signal.aborted) {
      this.member = undefined;
      leadership.end("the candidacy vanished from the election");
    } else if (!leadership.signal.aborted) {
      leadership.end("the session changed");
    }
    if (this.leadership === leadership) this.leadership = undefined;
  }

  /**
   * Leaves the election: ends any leadership, removes the candidate, rejects pending campaigns.
   * Resolves after the first attempt to remove the candidate; if that failed (the server was away)
   * it is retried in the background until it succeeds, the session ends (taking the candidate with
   * it), or this coordinator campaigns again (whose join takes its own entry back).
   */
  async withdraw(
    reason: unknown = new RollcallError("NOT_LEADER", "the candidacy was withdrawn"),
  ): Promise<void> {
    this.withdrawals++;
    this.active = false;
    const leadership = this.leadership;
    this.leadership = undefined;
    this.loopController?.abort(reason);
    this.loopController = undefined;
    this.loop = undefined;
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason);
    this.feedLease?.release();
    this.feedLease = undefined;
    const member = this.member;
    this.member = undefined;
    leadership?.end("resigned");
    const { session } = this.ctx;
    if (member && this.memberEpoch === session.epoch && session.state !== "closed") {
      const first = this.removeCandidate(member, this.memberEpoch);
      this.leaving = first;
      void first.finally(() => {
        if (this.leaving === first) this.leaving = undefined;
      });
    }
    await this.leaving;
  }

  /** One attempt to remove the candidate now; on failure, keeps retrying in the background. */
  private async removeCandidate(member: Member, epoch: number): Promise<void> {
    if (await this.tryLeave(member)) return;
    const leftover = { member, epoch };
    this.leftover = leftover;
    void this.retryLeave(leftover).finally(() => {
      if (this.leftover === leftover) this.leftover = undefined;
    });
  }

  /** True once the candidate is gone (removed now, or already). */
  private async tryLeave(member: Member): Promise<boolean> {
    try {
      await this.ctx.driver.leave(this.group, member.id);
      return true;
    } catch (error) {
      if (RollcallError.hasCode(error, "MEMBER_NOT_JOINED")) return true;
      this.ctx.logger.warn("leaving an election failed; will retry while the session lasts", {
        election: this.name,
        error: errorText(error),
      });
      return false;
    }
  }

  private async retryLeave({ member, epoch }: { member: Member; epoch: number }): Promise<void> {
    const { session } = this.ctx;
    for (let attempt = 1; ; attempt++) {
      await delay(backoff(attempt, { initial: 50, max: Math.min(this.ctx.retryInterval, 3200) }));
      // The session that held the candidate ended and took it along.
      if (session.epoch !== epoch || session.state === "closed" || session.state === "expired") return;
      if (this.member?.seq === member.seq && this.memberEpoch === epoch) return; // taken back
      if (session.state !== "connected") continue;
      if (await this.tryLeave(member)) {
        this.ctx.logger.info("a leftover candidate was removed", { election: this.name, attempt });
        return;
      }
    }
  }
}
