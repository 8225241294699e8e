import {
  createDriver,
  type Driver,
  type DriverEvent,
  type ErrorCode,
  type Member,
  type Metadata,
  RollcallError,
  type WatchHandle,
} from "@rollcall/core/driver";
import { describe, it } from "vitest";
import { type Harness, randomId } from "../harness.js";

/** What a driver-level check runs against. */
export interface DriverCheckTarget {
  /**
   * A URL with a namespace of its own (`namespace=` or the path, as the backend reads it) and the
   * session timeout to use; the check creates its groups in it and closes every driver it opened.
   */
  url: string;
  /** How long to wait for a change that should be delivered promptly, in ms (default 10 000). */
  eventTimeout?: number;
}

/** Thrown by a driver-level check when the driver breaks the contract; the message says how. */
export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
}

function describeError(error: unknown): string {
  if (RollcallError.isInstance(error)) return `${error.code} (${error.message})`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The drivers a check opened, with the session states they reported, for failure messages. */
class Drivers {
  private readonly opened: { memberId: string; driver: Driver; states: string[] }[] = [];

  constructor(private readonly url: string) {}

  /** Creates a driver for `memberId` from the URL and opens its session. */
  async open(memberId: string): Promise<Driver> {
    const { driver, options } = await createDriver(this.url, { memberId });
    const entry = { memberId, driver, states: [] as string[] };
    this.opened.push(entry);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`opening a session took over ${options.connectTimeout} ms`)),
      options.connectTimeout,
    );
    try {
      await driver.open({ state: (state) => entry.states.push(state), renewed: () => {} }, controller.signal);
    } finally {
      clearTimeout(timer);
    }
    return driver;
  }

  /** Session trouble seen during the check, worth appending to a failure. */
  trouble(): string {
    const notes = this.opened
      .filter((e) => e.states.some((s) => s !== "connected"))
      .map((e) => `${e.memberId}: ${e.states.join(" → ")}`);
    return notes.length === 0 ? "" : ` (session states reported meanwhile: ${notes.join("; ")})`;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.opened.splice(0).map((e) => e.driver.close()));
  }
}

/** Runs `body` with a set of drivers, closes them all, and words a violation with any session trouble. */
async function withDrivers(url: string, body: (drivers: Drivers) => Promise<void>): Promise<void> {
  const drivers = new Drivers(url);
  try {
    await body(drivers);
  } catch (error) {
    if (error instanceof ContractViolation)
      throw new ContractViolation(`${error.message}${drivers.trouble()}`);
    throw error;
  } finally {
    await drivers.closeAll();
  }
}

async function mustResolve<T>(promise: Promise<T>, what: string): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw new ContractViolation(`${what} rejected with ${describeError(error)}; it must succeed`);
  }
}

async function mustReject(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (RollcallError.hasCode(error, code)) return;
    throw new ContractViolation(`${what} rejected with ${describeError(error)}; expected ${code}`);
  }
  throw new ContractViolation(
    `${what} resolved (${JSON.stringify(outcome, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}); expected ${code}`,
  );
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function expectRecord(member: Member, seq: bigint, metadata: Metadata, what: string): void {
  if (member.seq !== seq) {
    throw new ContractViolation(
      `${what} has seq ${member.seq}; the join that created the member assigned ${seq} (a retry must not re-join)`,
    );
  }
  if (!sameMetadata(member.metadata, metadata)) {
    throw new ContractViolation(
      `${what} has metadata ${JSON.stringify(member.metadata)}; expected ${JSON.stringify(metadata)}`,
    );
  }
}

async function onlyRecord(driver: Driver, group: string, memberId: string, what: string): Promise<Member> {
  const found = (await driver.members(group)).members.filter((m) => m.id === memberId);
  if (found.length !== 1 || found[0] === undefined) {
    throw new ContractViolation(
      `after ${what}, members() lists ${found.length} records of ${memberId}; expected 1`,
    );
  }
  return found[0];
}

/**
 * A write whose answer was lost is safe to retry by the same session. Checks, on one driver, that a
 * `join` retried after the first attempt landed resolves with the original `seq` (and the metadata asked
 * for, also when it differs) while the group holds one such member; that a second session with the
 * same member id gets `MEMBER_EXISTS` and changes nothing; that a retried `update` succeeds; and that
 * a retried `leave` rejects with `MEMBER_NOT_JOINED` (which core interprets).
 * @throws ContractViolation describing the first violation found
 */
export async function checkRetriedWrites(target: DriverCheckTarget): Promise<void> {
  await withDrivers(target.url, async (drivers) => {
    const id = randomId("m");
    const group = randomId("g");
    const mine = await drivers.open(id);
    await mine.createGroup(group);
    const first = await mine.join(group, id, { n: 1 });

    const retried = await mustResolve(
      mine.join(group, id, { n: 1 }),
      "a join retried by the same session (its first attempt landed)",
    );
    expectRecord(retried, first.seq, { n: 1 }, "the retried join's record");
    expectRecord(
      await onlyRecord(mine, group, id, "a retried join"),
      first.seq,
      { n: 1 },
      "the listed member",
    );

    const changed = await mustResolve(
      mine.join(group, id, { n: 2 }),
      "a join retried by the same session with other metadata",
    );
    expectRecord(changed, first.seq, { n: 2 }, "a join retried with other metadata");
    expectRecord(
      await onlyRecord(mine, group, id, "a join retried with other metadata"),
      first.seq,
      { n: 2 },
      "the listed member after a join retried with other metadata",
    );

    const other = await drivers.open(id);
    await mustReject(
      other.join(group, id, { n: 3 }),
      "MEMBER_EXISTS",
      "a join by another session with the same member id",
    );
    expectRecord(
      await onlyRecord(mine, group, id, "another session's refused join"),
      first.seq,
      { n: 2 },
      "the listed member after another session's refused join",
    );

    const updated = await mine.update(group, id, { n: 4 });
    expectRecord(updated, first.seq, { n: 4 }, "the update's record");
    const updatedAgain = await mustResolve(
      mine.update(group, id, { n: 4 }),
      "an update retried by the same session",
    );
    expectRecord(updatedAgain, first.seq, { n: 4 }, "the retried update's record");
    expectRecord(
      await onlyRecord(mine, group, id, "a retried update"),
      first.seq,
      { n: 4 },
      "the listed member after a retried update",
    );

    await mine.leave(group, id);
    await mustReject(
      mine.leave(group, id),
      "MEMBER_NOT_JOINED",
      "a leave retried by the same session after it landed",
    );
    const left = (await mine.members(group)).members.filter((m) => m.id === id);
    if (left.length > 0)
      throw new ContractViolation(`after leave(), members() still lists ${id} (${left.length} records)`);
  });
}

/** A change in a comparable form: what core would make of it. */
function changeText(event: DriverEvent, names: ReadonlyMap<string, string>): string {
  if (event.type === "leave") return `leave ${names.get(event.memberId) ?? event.memberId} (${event.reason})`;
  const m = event.member;
  return `${event.type} ${names.get(m.id) ?? m.id} seq=${m.seq} ${JSON.stringify(m.metadata)}`;
}

/** Collects a group's changes after a revision through the driver's declared kind of watch. */
interface ChangeFeed {
  /** Changes so far, in delivery order. */
  readonly events: DriverEvent[];
  /** Why the feed asked to re-list, if it did. */
  readonly resync: string | undefined;
  /** Resolves once `done(events)` holds, the feed asks to re-list, or `timeout` ms pass. */
  until(done: (events: readonly DriverEvent[]) => boolean, timeout: number): Promise<void>;
  close(): Promise<void>;
}

async function pushFeed(driver: Driver, group: string, from: bigint): Promise<ChangeFeed> {
  const events: DriverEvent[] = [];
  let resync: string | undefined;
  let wake: (() => void) | undefined;
  const watch = driver.watch;
  if (watch === undefined) throw new ContractViolation(`the driver declares watch "push" but has no watch()`);
  const handle: WatchHandle = await watch.call(driver, group, from, {
    event: (event) => {
      events.push(event);
      wake?.();
    },
    resync: (reason) => {
      resync ??= reason;
      wake?.();
    },
  });
  return {
    events,
    get resync() {
      return resync;
    },
    until: (done, timeout) =>
      new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(finish, timeout);
        wake = () => {
          if (resync !== undefined || done(events)) finish();
        };
        wake();
      }),
    close: () => handle.close(),
  };
}

/**
 * A push driver without `watch()`: `changes()` read once at the start (resolved before the check writes
 * on) and then only when a change hint about the group (or about nothing in particular) arrives — never on
 * a timer, as core follows it. A driver whose hints do not come fails the check: the feed stalls.
 */
async function hintedFeed(driver: Driver, group: string, from: bigint): Promise<ChangeFeed> {
  const changes = driver.changes;
  const subscribe = driver.changeHints;
  if (changes === undefined || subscribe === undefined)
    throw new ContractViolation(
      `the driver declares watch "push" but has neither watch() nor changes() with changeHints()`,
    );
  const events: DriverEvent[] = [];
  let resync: string | undefined;
  let failure: unknown;
  let cursor = from;
  let reading = false;
  let again = false;
  let wake: (() => void) | undefined;
  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const batch = await changes.call(driver, group, cursor);
        if ("resync" in batch) {
          resync ??= batch.resync;
          break;
        }
        events.push(...batch.events);
        if (batch.revision > cursor) cursor = batch.revision;
        if (batch.more) again = true;
      } while (again);
    } catch (error) {
      failure ??= error;
    } finally {
      reading = false;
      wake?.();
    }
  };
  const unsubscribe = subscribe.call(driver, (topic) => {
    if (topic === undefined || topic === group) void read();
  });
  // The first read is done before the check writes on: what it writes from then on arrives by hints alone.
  await read();
  return {
    events,
    get resync() {
      return resync;
    },
    until: (done, timeout) =>
      new Promise<void>((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          wake = undefined;
          if (failure !== undefined) reject(failure);
          else resolve();
        };
        const timer = setTimeout(finish, timeout);
        wake = () => {
          if (failure !== undefined || resync !== undefined || done(events)) finish();
        };
        wake();
      }),
    close: async () => unsubscribe(),
  };
}

function pollFeed(driver: Driver, group: string, from: bigint): ChangeFeed {
  const changes = driver.changes;
  if (changes === undefined)
    throw new ContractViolation(`the driver declares watch "poll" but has no changes()`);
  const events: DriverEvent[] = [];
  let resync: string | undefined;
  let cursor = from;
  return {
    events,
    get resync() {
      return resync;
    },
    async until(done, timeout) {
      const deadline = performance.now() + timeout;
      while (resync === undefined && !done(events)) {
        const batch = await changes.call(driver, group, cursor);
        if ("resync" in batch) {
          resync = batch.resync;
          return;
        }
        events.push(...batch.events);
        if (batch.revision < cursor) {
          throw new ContractViolation(
            `changes(${group}, ${cursor}) answered with revision ${batch.revision}, below the one asked for`,
          );
        }
        cursor = batch.revision;
        if (batch.more || done(events)) continue;
        if (performance.now() >= deadline) return;
        // Nothing more yet: ask again shortly, as core's poller would.
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {},
  };
}

/**
 * A watch started from a `members()` snapshot's revision delivers exactly the changes after that
 * snapshot, in order — none of what the snapshot already holds again, nothing missed. Two members
 * join before the snapshot; a join, an update and a leave happen between the snapshot and the start of
 * the watch; another join, update and leave while it runs. Uses `watch()` where the driver declares
 * `watch: "push"` (or, without one, `changes()` read on change hints alone) and `changes()` where it
 * declares `"poll"`. Also checks the revisions: above the
 * snapshot's and strictly increasing.
 * @throws ContractViolation describing the first violation found
 */
export async function checkWatchFromSnapshot(target: DriverCheckTarget): Promise<void> {
  const timeout = target.eventTimeout ?? 10_000;
  await withDrivers(target.url, async (drivers) => {
    const group = randomId("g");
    const watcher = await drivers.open(randomId("w"));
    await watcher.createGroup(group);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => randomId(n)) as [string, string, string, string];
    const names = new Map([a, b, c, d].map((id) => [id, id.slice(0, 1)]));
    const [da, db, dc, dd] = await Promise.all([a, b, c, d].map((id) => drivers.open(id)));
    if (!da || !db || !dc || !dd) throw new Error("unreachable: four drivers were opened");

    const ja = await da.join(group, a, { v: "a0" });
    await db.join(group, b, { v: "b0" });
    const snapshot = await watcher.members(group);
    const listed = snapshot.members.map((m) => names.get(m.id) ?? m.id).sort();
    if (listed.join(",") !== "a,b") {
      throw new ContractViolation(
        `members() after a and b joined lists [${listed.join(",")}]; expected [a,b]`,
      );
    }

    // Between the snapshot and the start of the watch.
    const jc = await dc.join(group, c, { v: "c0" });
    await da.update(group, a, { v: "a1" });
    await db.leave(group, b);

    const push = watcher.characteristics.watch === "push";
    const feed = !push
      ? pollFeed(watcher, group, snapshot.revision)
      : watcher.watch !== undefined
        ? await pushFeed(watcher, group, snapshot.revision)
        : await hintedFeed(watcher, group, snapshot.revision);
    try {
      // While it runs.
      const jd = await dd.join(group, d, { v: "d0" });
      await dc.update(group, c, { v: "c1" });
      await da.leave(group, a);

      const reason = watcher.characteristics.leaveReason ? "left" : "unknown";
      const expected = [
        `join c seq=${jc.seq} {"v":"c0"}`,
        `update a seq=${ja.seq} {"v":"a1"}`,
        `leave b (${reason})`,
        `join d seq=${jd.seq} {"v":"d0"}`,
        `update c seq=${jc.seq} {"v":"c1"}`,
        `leave a (${reason})`,
      ];
      const last = expected.at(-1);
      await feed.until((events) => events.some((e) => changeText(e, names) === last), timeout);
      const how =
        push && watcher.watch !== undefined
          ? `watch(group, ${snapshot.revision})`
          : `changes(group, ${snapshot.revision})${push ? " on change hints" : ""}`;
      if (feed.resync !== undefined) {
        throw new ContractViolation(
          `${how} from a fresh snapshot asked to re-list ("${feed.resync}") instead of delivering the changes after it`,
        );
      }
      const got = feed.events.map((e) => changeText(e, names));
      if (got.join("\n") !== expected.join("\n")) {
        const seen = got.includes(last as string)
          ? ""
          : ` (the last change did not arrive within ${timeout} ms)`;
        throw new ContractViolation(
          `${how} started from a members() snapshot of [a,b] delivered\n  ${got.join("\n  ") || "(nothing)"}\n` +
            `but exactly the changes after the snapshot are\n  ${expected.join("\n  ")}${seen}`,
        );
      }
      let previous = snapshot.revision;
      for (const event of feed.events) {
        if (event.revision <= previous) {
          throw new ContractViolation(
            `${how} delivered "${changeText(event, names)}" at revision ${event.revision}, not above ${previous} ` +
              `(revisions must be above the snapshot's and strictly increasing: core drops the others)`,
          );
        }
        previous = event.revision;
      }
    } finally {
      await feed.close();
    }
  });
}

/**
 * Driver-level checks: the contract as core relies on it, spoken to a driver created from the target
 * URL (through `createDriver`), without a Coordinator in between.
 */
export function driverContractSuite(h: Harness): void {
  describe("driver contract", () => {
    it("a join retried by the same session keeps its seq; another session gets MEMBER_EXISTS; update retried succeeds", async () => {
      await checkRetriedWrites({ url: h.url(), eventTimeout: h.eventTimeout });
    });

    it("watch / changes from a members() revision delivers exactly the changes after it, in order", async () => {
      await checkWatchFromSnapshot({ url: h.url(), eventTimeout: h.eventTimeout });
    });
  });
}
