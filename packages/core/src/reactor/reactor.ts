import type { Configuration, ConfigView, Election, GroupView, Leadership } from "../api.js";
import { RollcallError } from "../errors/rollcall-error.js";
import { bounded, delay } from "../internal/abort.js";
import { backoff } from "../internal/backoff.js";
import { Listeners } from "../internal/listeners.js";
import { errorText } from "../session.js";
import type { Logger, Member, MembershipEvent, Metadata } from "../types.js";
import {
  decodeRecord,
  REACTOR_CONFIG,
  type ReactorRecord,
  ReactorStore,
  type StoredPending,
} from "./reactor-store.js";
import type {
  BrakeStatus,
  Departure,
  Reactor,
  ReactorEvent,
  ReactorHandler,
  ReactorState,
} from "./reactor-types.js";

/** What a reactor needs of its coordinator. */
export interface ReactorHost {
  readonly logger: Logger;
  readonly sessionTimeout: number;
  election(name: string): Election;
  view(group: string): Promise<GroupView>;
  config(name: string): Configuration;
}

/** A reactor's options with every default applied. */
export interface ResolvedReactorOptions {
  name: string;
  reasons: ReadonlySet<"expired" | "left">;
  grace: number;
  brake: { fraction: number; window: number } | undefined;
  retry: { initial: number; max: number };
}

interface PendingDeparture {
  departure: Departure;
  attempts: number;
  /** The last failed attempt's error, kept in the store across the next attempt. */
  lastError?: string;
  /** `performance.now()` time from which it may run. */
  dueAt: number;
  /** Until when (`performance.now()`) a re-join cancels it: the grace period. */
  cancellableUntil: number;
}

/**
 * The one implementation of {@link Reactor}: campaigns in `reactor.<name>`; while it leads, follows the
 * group through a view, records departures in the configuration store, runs the handler once per
 * departure and records it as handled with a compare-and-set fenced by the leadership's token.
 */
export class CoordinatorReactor implements Reactor {
  private current: ReactorState = "standby";
  private readonly closing = new AbortController();
  private running: Promise<void> | undefined;
  private poked: (() => void) | undefined;
  private readonly store: ReactorStore;
  private readonly pendingNow = new Map<string, PendingDeparture>();
  private readonly knownNow = new Map<string, { seq: bigint; metadata: Metadata }>();
  private recent: number[] = [];
  private brakeStatus: (BrakeStatus & { releasedAt?: Date }) | undefined;
  private readonly listeners = {
    state: new Listeners<[ReactorState]>(),
    handled: new Listeners<[Departure, number]>(),
    failed: new Listeners<[Departure, unknown, number, number]>(),
    braked: new Listeners<[BrakeStatus]>(),
    released: new Listeners<["operator" | "recovered"]>(),
  };

  constructor(
    private readonly host: ReactorHost,
    readonly group: string,
    private readonly handler: ReactorHandler,
    private readonly options: ResolvedReactorOptions,
  ) {
    this.store = new ReactorStore(host.config(REACTOR_CONFIG), options.name, group);
  }

  get name(): string {
    return this.options.name;
  }

  get state(): ReactorState {
    return this.current;
  }

  /** Starts standing by. */
  start(): void {
    this.running ??= this.run();
  }

  async pending(): Promise<Departure[]> {
    const { record } = await this.store.read();
    const done = new Set(record.done);
    return (await this.store.pending()).map((p) => p.departure).filter((d) => !done.has(d.key));
  }

  async brake(): Promise<BrakeStatus | undefined> {
    const { record } = await this.store.read();
    return record.brake;
  }

  async release(): Promise<boolean> {
    return releaseBrake(this.store);
  }

  on(event: ReactorEvent, listener: (...args: never[]) => void): this {
    (this.listeners[event] as Listeners<unknown[]>).add(listener as (...args: unknown[]) => void);
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: listeners of several shapes are removed by identity
  off(event: ReactorEvent, listener: (...args: any[]) => void): this {
    (this.listeners[event] as Listeners<unknown[]>).remove(listener);
    return this;
  }

  async close(): Promise<void> {
    if (this.current === "closed") return;
    this.closing.abort(new RollcallError("NOT_CONNECTED", "the reactor was closed"));
    this.poke();
    // Bounded: a handler still running was told (its signal aborts with the leadership) and is not
    // awaited past a session timeout; the election is withdrawn when the coordinator closes.
    await bounded(
      this.running ?? Promise.resolve(),
      Math.max(1000, this.host.sessionTimeout),
      "closing the reactor",
    ).catch((error: unknown) =>
      this.host.logger.warn("the reactor did not stop in time; closing anyway", {
        reactor: this.name,
        error: errorText(error),
      }),
    );
    this.setState("closed");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `Reactor(${this.name} on ${this.group}, ${this.current})`;
  }

  toJSON(): string {
    return this.toString();
  }

  // Inspecting must not reach the coordinator's driver (and its credentials).
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  private setState(state: ReactorState): void {
    if (this.current === state || this.current === "closed") return;
    this.current = state;
    this.host.logger.info(`reactor ${state}`, { reactor: this.name, group: this.group });
    this.listeners.state.emit(this.host.logger, "reactor state", state);
  }

  private poke(): void {
    const wake = this.poked;
    this.poked = undefined;
    wake?.();
  }

  /** Waits for a poke, `ms`, or the signal. */
  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      this.poked = done;
      signal.addEventListener("abort", done, { once: true });
      this.closing.signal.addEventListener("abort", done, { once: true });
    });
  }

  private async run(): Promise<void> {
    const election = this.host.election(`reactor.${this.name}`);
    let failures = 0;
    while (!this.closing.signal.aborted) {
      let leadership: Leadership;
      try {
        leadership = await election.campaign({ signal: this.closing.signal });
      } catch (error) {
        if (this.closing.signal.aborted) return;
        this.host.logger.warn("reactor campaign failed; retrying", {
          reactor: this.name,
          error: errorText(error),
        });
        await delay(backoff(failures++, { initial: 250, max: 5000, jitter: 0.2 }), this.closing.signal).catch(
          () => {},
        );
        continue;
      }
      try {
        await this.act(leadership);
        failures = 0;
      } catch (error) {
        if (!this.closing.signal.aborted)
          this.host.logger.warn("reactor stopped acting", { reactor: this.name, error: errorText(error) });
        if (!RollcallError.hasCode(error, "NOT_LEADER")) {
          await delay(
            backoff(failures++, { initial: 250, max: 5000, jitter: 0.2 }),
            this.closing.signal,
          ).catch(() => {});
        }
      } finally {
        await leadership.resign().catch(() => {});
        this.pendingNow.clear();
        this.knownNow.clear();
        this.recent = [];
        if (!this.closing.signal.aborted) this.setState("standby");
      }
    }
  }

  private hold(): number {
    return Math.max(this.options.grace, this.options.brake ? this.options.brake.window / 2 : 0);
  }

  private async act(leadership: Leadership): Promise<void> {
    const token = leadership.token;
    const signal = leadership.signal;
    const record = await this.store.update(token, (r) => ({ ...r, token, group: this.group }));
    this.brakeStatus = record.brake;
    this.setState(record.brake?.engaged ? "braked" : "acting");
    const view = await this.host.view(this.group);
    const events: MembershipEvent[] = [];
    const onChange = (event: MembershipEvent) => {
      events.push(event);
      this.poke();
    };
    view.on("change", onChange);
    let stateView: ConfigView | undefined;
    try {
      stateView = await this.host.config(REACTOR_CONFIG).view({ prefix: `${this.name}/state` });
      stateView.on("change", () => this.poke());
      const done = new Set(record.done);
      for (const stored of await this.store.pending()) {
        if (done.has(stored.departure.key)) await this.store.deletePending(stored.departure.key);
        else this.pendingNow.set(stored.departure.key, this.resumed(stored));
      }
      for (const [id, known] of await this.store.known()) this.knownNow.set(id, known);
      await this.reconcile(view.members(), done);
      await this.checkBrake(token);
      let stateVersion = stateView.get(`${this.name}/state`)?.version ?? 0n;
      while (!signal.aborted && !this.closing.signal.aborted) {
        for (const event of events.splice(0)) await this.onEvent(event, token, done);
        const state = stateView.get(`${this.name}/state`);
        if ((state?.version ?? 0n) !== stateVersion) {
          stateVersion = state?.version ?? 0n;
          this.onStateChanged(token, decodeRecord(state?.value));
        }
        if (this.brakeStatus?.engaged) await this.checkRecovery(token, view);
        if (!this.brakeStatus?.engaged) {
          const now = performance.now();
          const due = [...this.pendingNow.values()]
            .filter((p) => p.dueAt <= now)
            .sort((a, b) => a.dueAt - b.dueAt)[0];
          if (due && leadership.isValid()) {
            await this.runOne(due, leadership);
            continue;
          }
          if (due) {
            // Past its validity but not yet aborted (e.g. just thawed): wait for the abort, without spinning.
            await this.sleep(50, signal);
            continue;
          }
        }
        const next = this.brakeStatus?.engaged
          ? Number.POSITIVE_INFINITY
          : Math.min(...[...this.pendingNow.values()].map((p) => p.dueAt));
        if (events.length === 0) await this.sleep(next - performance.now(), signal);
      }
    } finally {
      view.off("change", onChange);
      await view.close();
      await stateView?.close();
    }
  }

  /**
   * A departure the previous actor recorded: it keeps what is left of its grace and hold (counted from
   * when it departed, by the wall clock the record carries), so a failover neither hurries nor re-arms them.
   */
  private resumed(stored: StoredPending): PendingDeparture {
    const now = performance.now();
    const since = Math.max(0, Date.now() - stored.departure.departedAt.getTime());
    return {
      ...stored,
      dueAt: now + Math.max(0, this.hold() - since),
      cancellableUntil: now + Math.max(0, this.options.grace - since),
    };
  }

  /** Departures of members the stored membership knew and the group no longer has; members to remember. */
  private async reconcile(live: Member[], done: ReadonlySet<string>): Promise<void> {
    const byId = new Map(live.map((m) => [m.id, m] as const));
    for (const [id, known] of [...this.knownNow]) {
      const member = byId.get(id);
      if (member?.seq === known.seq) continue;
      const key = `${id}@${known.seq}`;
      if (!done.has(key) && !this.pendingNow.has(key)) {
        await this.depart({ id, ...known }, "unknown");
      } else if (member === undefined) {
        this.knownNow.delete(id);
      }
    }
    for (const member of live) {
      const known = this.knownNow.get(member.id);
      if (known?.seq === member.seq && JSON.stringify(known.metadata) === JSON.stringify(member.metadata))
        continue;
      await this.remember(member);
    }
  }

  private async remember(member: Member): Promise<void> {
    this.knownNow.set(member.id, { seq: member.seq, metadata: member.metadata });
    await this.store.putKnown(member);
  }

  private async onEvent(event: MembershipEvent, token: bigint, done: Set<string>): Promise<void> {
    if (event.type === "snapshot") {
      await this.reconcile(event.members, done);
      await this.checkBrake(token);
      return;
    }
    if (event.type === "join" || event.type === "update") {
      const now = performance.now();
      for (const [key, pending] of [...this.pendingNow]) {
        if (pending.departure.memberId !== event.member.id) continue;
        // Back within the grace period (or while braked): the action is cancelled.
        if (now < pending.cancellableUntil || this.brakeStatus?.engaged) {
          this.pendingNow.delete(key);
          await this.store.deletePending(key);
          this.host.logger.info("reactor: a member came back; its action is cancelled", {
            reactor: this.name,
            key,
          });
        }
      }
      await this.remember(event.member);
      return;
    }
    const known = this.knownNow.get(event.memberId);
    if (known === undefined) return;
    const counts =
      event.reason === "left" ? this.options.reasons.has("left") : this.options.reasons.has("expired");
    if (!counts) {
      this.knownNow.delete(event.memberId);
      await this.store.deleteKnown(event.memberId, known.seq);
      return;
    }
    await this.depart({ id: event.memberId, ...known }, event.reason);
    await this.checkBrake(token);
  }

  /**
   * Records a departure: it waits the grace period and the brake's hold (a departure found missing at
   * take-over too: a backend restart looks like every member gone at once), and counts for the brake.
   */
  private async depart(
    member: { id: string; seq: bigint; metadata: Metadata },
    reason: Departure["reason"],
  ): Promise<void> {
    const key = `${member.id}@${member.seq}`;
    const departure: Departure = {
      group: this.group,
      memberId: member.id,
      seq: member.seq,
      metadata: member.metadata,
      reason,
      departedAt: new Date(),
      key,
    };
    const now = performance.now();
    this.pendingNow.set(key, {
      departure,
      attempts: 0,
      dueAt: now + this.hold(),
      cancellableUntil: now + this.options.grace,
    });
    this.recent.push(now);
    await this.store.putPending(departure, 0);
  }

  private async checkBrake(token: bigint): Promise<void> {
    const brake = this.options.brake;
    if (!brake || this.brakeStatus?.engaged) return;
    const now = performance.now();
    this.recent = this.recent.filter((t) => t > now - brake.window);
    const departures = this.recent.length;
    // The group as the events processed so far describe it (the view may already be further on).
    let alive = 0;
    for (const [id, known] of this.knownNow) if (!this.pendingNow.has(`${id}@${known.seq}`)) alive++;
    const size = alive + departures;
    if (departures < 2 || departures <= brake.fraction * size) return;
    const status = { engaged: true, since: new Date(), departures, size };
    await this.store.update(token, (r) => ({ ...r, brake: status }));
    this.brakeStatus = status;
    this.host.logger.warn("reactor braked: a mass departure", { reactor: this.name, departures, size });
    this.setState("braked");
    this.listeners.braked.emit(this.host.logger, "reactor braked", status);
  }

  /**
   * The stored state changed (as the state view holds it: no read): an operator's release, or a newer
   * actor. Our own writes come through here too and change nothing.
   */
  private onStateChanged(token: bigint, record: ReactorRecord): void {
    if (record.token > token)
      throw new RollcallError("NOT_LEADER", `reactor ${this.name}: a newer actor took over`);
    if (this.brakeStatus?.engaged && !record.brake?.engaged) {
      this.brakeStatus = record.brake;
      this.recent = [];
      this.setState("acting");
      this.listeners.released.emit(this.host.logger, "reactor released", "operator");
    }
  }

  /** While braked: once the group is back above the threshold, departures whose member is back are cancelled. */
  private async checkRecovery(token: bigint, view: GroupView): Promise<void> {
    const brake = this.options.brake;
    const status = this.brakeStatus;
    if (!brake || !status?.engaged) return;
    if (status.size - view.size > brake.fraction * status.size) return;
    for (const [key, pending] of [...this.pendingNow]) {
      if (!view.has(pending.departure.memberId)) continue;
      this.pendingNow.delete(key);
      await this.store.deletePending(key);
    }
    const released = { ...status, engaged: false, releasedAt: new Date() };
    await this.store.update(token, (r) => ({ ...r, brake: released }));
    this.brakeStatus = released;
    this.recent = [];
    this.setState("acting");
    this.listeners.released.emit(this.host.logger, "reactor released", "recovered");
  }

  private async runOne(pending: PendingDeparture, leadership: Leadership): Promise<void> {
    const { departure } = pending;
    pending.attempts++;
    // Stored before the run: a run cut short by the actor's death still counts for the next actor.
    await this.store.putPending(departure, pending.attempts, pending.lastError, true);
    const started = performance.now();
    try {
      await this.handler(departure, {
        token: leadership.token,
        signal: leadership.signal,
        attempt: pending.attempts,
        leadership,
      });
    } catch (error) {
      if (leadership.signal.aborted) return;
      const retryIn = backoff(pending.attempts - 1, { ...this.options.retry, jitter: 0.1 });
      pending.dueAt = performance.now() + retryIn;
      this.host.logger.warn("reactor handler failed; will retry", {
        reactor: this.name,
        key: departure.key,
        attempt: pending.attempts,
        error: errorText(error),
      });
      this.listeners.failed.emit(
        this.host.logger,
        "reactor failed",
        departure,
        error,
        pending.attempts,
        retryIn,
      );
      pending.lastError = errorText(error);
      await this.store.putPending(departure, pending.attempts, pending.lastError).catch(() => {});
      return;
    }
    const ms = performance.now() - started;
    // The fence: recorded once, by the actor whose token is current.
    await this.store.update(leadership.token, (r: ReactorRecord) => ({
      ...r,
      done: [...r.done, departure.key],
    }));
    this.pendingNow.delete(departure.key);
    await this.store.deletePending(departure.key).catch(() => {});
    if (this.knownNow.get(departure.memberId)?.seq === departure.seq) {
      this.knownNow.delete(departure.memberId);
      await this.store.deleteKnown(departure.memberId, departure.seq).catch(() => {});
    }
    this.listeners.handled.emit(this.host.logger, "reactor handled", departure, ms);
  }
}

/** Releases a reactor's engaged brake by compare-and-set (any process may: it is the operator's call). */
export async function releaseBrake(store: ReactorStore): Promise<boolean> {
  let was = false;
  await store.update(undefined, (r) => {
    was = r.brake?.engaged === true;
    if (!r.brake?.engaged) return undefined;
    return { ...r, brake: { ...r.brake, engaged: false, releasedAt: new Date() } };
  });
  return was;
}
