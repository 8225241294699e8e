import type { Driver } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import type { GroupFeed } from "./group-feed.js";
import { delay, raceAbort } from "./internal/abort.js";
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
 * predecessor only (the driver's `awaitGone`); with more seats it follows the group's feed. An
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

  /** Resolves with the next (or current) leadership; `signal` withdraws the candidacy. */
  campaign(signal?: AbortSignal, metadata?: Metadata): Promise<HeldLeadership> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (metadata !== undefined) this.metadata = metadata;
    const held = this.heldLeadership;
    if (held) return Promise.resolve(held);
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
        return member;
      } catch (error) {
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
        if (position === "gone") {
          this.member = undefined;
          continue;
        }
        if (position === "seated") {
          if (!session.isValid()) {
            await delay(20, step.signal);
            continue;
          }
          await this.lead(member, step.signal);
          if (this.kind === "lock") {
            // Resigning already withdrew (and aborted this loop); anything else ends the lock here.
            if (!signal.aborted) await this.withdraw();
            return;
          }
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
        await delay(Math.min(this.ctx.retryInterval, 100 * 2 ** Math.min(failures, 5)), signal).catch(
          () => {},
        );
      } finally {
        session.stateChanged.remove(onState);
        signal.removeEventListener("abort", onAbort);
      }
    }
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
      const recheck = AbortSignal.any([
        signal,
        AbortSignal.timeout(Math.max(1000, this.ctx.driver.sessionTimeout)),
      ]);
      await driver.awaitGone(this.group, predecessor.id, recheck, predecessor.seq).catch((error: unknown) => {
        if (signal.aborted || !recheck.aborted) throw error;
      });
      return "waiting";
    }
    if (noWait) {
      const sorted = (await raceAbort(driver.members(this.group), signal)).members.sort(bySeq);
      const index = sorted.findIndex((m) => m.id === member.id && m.seq === member.seq);
      return index === -1 ? "gone" : index < this.seats ? "seated" : "waiting";
    }
    const { feed } = await this.feed();
    await raceAbort(feed.ready, signal);
    const sorted = feed.members();
    const index = sorted.findIndex((m) => m.id === member.id && m.seq === member.seq);
    if (index === -1) {
      // Our own join may not have reached the feed yet: wait for the next change.
      await this.nextChange(feed, signal);
      return feed.has(member.id) ? "waiting" : "gone";
    }
    if (index < this.seats) return "seated";
    await this.nextChange(feed, signal);
    return "waiting";
  }

  private nextChange(feed: GroupFeed, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const unsubscribe = feed.subscribe(() => finish(undefined));
      const onAbort = () => finish(signal.reason);
      const finish = (error: unknown) => {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
        if (error === undefined) resolve();
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
    const leadership = new HeldLeadership(this.name, member.seq, this.ctx.session, () => this.withdraw());
    this.leadership = leadership;
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

  /** Leaves the election: ends any leadership, removes the candidate, rejects pending campaigns. */
  async withdraw(
    reason: unknown = new RollcallError("NOT_LEADER", "the candidacy was withdrawn"),
  ): Promise<void> {
    const wasActive = this.active;
    this.active = false;
    this.leadership?.end("resigned");
    this.leadership = undefined;
    this.loopController?.abort(reason);
    this.loopController = undefined;
    this.loop = undefined;
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason);
    this.feedLease?.release();
    this.feedLease = undefined;
    const member = this.member;
    this.member = undefined;
    if (!wasActive && member === undefined) return;
    if (member && this.memberEpoch === this.ctx.session.epoch && this.ctx.session.state !== "closed") {
      await this.ctx.driver.leave(this.group, member.id).catch((error: unknown) => {
        if (!RollcallError.hasCode(error, "MEMBER_NOT_JOINED")) {
          this.ctx.logger.warn("leaving an election failed", {
            election: this.name,
            error: errorText(error),
          });
        }
      });
    }
  }
}
