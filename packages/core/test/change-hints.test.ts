import { describe, expect, it } from "vitest";
import type { Driver, DriverEvent, GroupSnapshot, SessionListener } from "../src/driver/driver.js";
import { GroupFeed } from "../src/group-feed.js";
import { Session } from "../src/session.js";
import type { Member, MembershipEvent } from "../src/types.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A polled driver whose change log the test appends to, with change hints it can fire. */
function polledDriver(watch: "poll" | "push" = "poll") {
  const log: DriverEvent[] = [];
  const hints = new Set<(topic?: string) => void>();
  let reads = 0;
  let failNext = 0;
  const driver: Driver = {
    characteristics: {
      scope: "process",
      liveness: "ttl",
      watch,
      leaveReason: true,
      consistency: "linearizable",
      config: "none",
    },
    sessionTimeout: 60_000,
    open: async (_listener: SessionListener) => {},
    close: async () => {},
    createGroup: async () => {},
    deleteGroup: async () => {},
    listGroups: async () => ["g"],
    join: async () => {
      throw new Error("unused");
    },
    leave: async () => {},
    update: async () => {
      throw new Error("unused");
    },
    members: async (): Promise<GroupSnapshot> => ({ members: [], revision: 0n }),
    changes: async (_group: string, since: bigint) => {
      reads++;
      if (failNext > 0) {
        failNext--;
        throw new Error("connection reset");
      }
      const events = log.filter((e) => e.revision > since);
      return { events, revision: events.at(-1)?.revision ?? since };
    },
    changeHints: (listener: (topic?: string) => void) => {
      hints.add(listener);
      return () => hints.delete(listener);
    },
  };
  const hint = (topic?: string) => {
    for (const listener of hints) listener(topic);
  };
  return { driver, log, hints, hint, reads: () => reads, failReads: (n: number) => (failNext = n) };
}

/** A session on `driver` and a feed of group "g" on it, polling every `pollInterval` ms. */
async function openFeed(
  driver: Driver,
  pollInterval: number,
): Promise<{ session: Session; feed: GroupFeed }> {
  const session = new Session(driver, { retryInterval: 50, connectTimeout: 1000, logger: silent });
  await session.open();
  const feed = new GroupFeed("g", driver, session, { pollInterval, retryInterval: 50, logger: silent });
  return { session, feed };
}

/** Resolves at the first event `feed` delivers that `match` accepts; rejects after `ms`. */
function next(feed: GroupFeed, match: (event: MembershipEvent) => boolean, ms: number, what: string) {
  return new Promise<MembershipEvent>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${what}: nothing within ${ms} ms`));
    }, ms);
    const stop = feed.subscribe((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

function member(id: string, seq: bigint): Member {
  const at = new Date();
  return { id, group: "g", metadata: {}, seq, joinedAt: at, updatedAt: at };
}

describe("change hints", () => {
  it("wake a polled feed at once instead of at the next poll, and are released with the feed", async () => {
    const { driver, log, hints, reads } = polledDriver();
    // A poll interval far beyond the test's deadline: only the hint can deliver in time.
    const { session, feed } = await openFeed(driver, 600_000);
    await feed.ready;
    const seen: MembershipEvent[] = [];
    let arrived: () => void = () => {};
    const join = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    feed.subscribe((event) => {
      seen.push(event);
      arrived();
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(hints.size).toBe(1);
    log.push({ type: "join", member: member("a", 1n), revision: 1n });
    const before = reads();
    for (const hint of hints) hint();
    const deadline = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("no event within 5 s of the hint")), 5000),
    );
    await Promise.race([join, deadline]);
    expect(seen.map((e) => (e.type === "join" ? e.member.id : e.type))).toEqual(["a"]);
    expect(reads()).toBe(before + 1);
    feed.stop();
    // The loop ends (and unsubscribes) as soon as it runs again: no poll interval to wait out.
    await new Promise((r) => setTimeout(r, 0));
    expect(hints.size).toBe(0);
    session.markClosed();
  });

  it("a driver whose hint subscription throws is polled without hints", async () => {
    const { driver, log } = polledDriver();
    driver.changeHints = () => {
      throw new Error("no inotify here");
    };
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    const { session, feed } = await openFeed(driver, 50);
    try {
      await feed.ready;
      let arrived: () => void = () => {};
      const join = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      feed.subscribe((event) => {
        if (event.type === "join") arrived();
      });
      log.push({ type: "join", member: member("a", 1n), revision: 1n });
      const deadline = new Promise((_, reject) =>
        setTimeout(() => reject(new Error("no event within 5 s: the poll stopped")), 5000),
      );
      await Promise.race([join, deadline]);
      expect(rejections).toEqual([]);
    } finally {
      feed.stop();
      session.markClosed();
      process.off("unhandledRejection", onRejection);
    }
  });

  it("a hint naming another group does not make this group's feed read; one naming it or none does", async () => {
    const { driver, log, hint, reads } = polledDriver();
    const { session, feed } = await openFeed(driver, 600_000);
    try {
      await feed.ready;
      await new Promise((r) => setTimeout(r, 20));
      const before = reads();
      log.push({ type: "join", member: member("a", 1n), revision: 1n });
      hint("another-group");
      await new Promise((r) => setTimeout(r, 50));
      expect(reads()).toBe(before);
      const joined = next(feed, (e) => e.type === "join", 5000, "the join after a hint naming g");
      hint("g");
      await joined;
      log.push({ type: "join", member: member("b", 2n), revision: 2n });
      const second = next(feed, (e) => e.type === "join", 5000, "the join after a hint naming nothing");
      hint();
      await second;
    } finally {
      feed.stop();
      session.markClosed();
    }
  });

  it("pushed hints (watch: push, no watch()): read at once on start and on each hint, never on a timer; a failed read is retried", async () => {
    const { driver, log, hint, reads, failReads } = polledDriver("push");
    // A short poll interval that a timer-driven loop would use many times during the waits below.
    const { session, feed } = await openFeed(driver, 20);
    try {
      await feed.ready;
      await new Promise((r) => setTimeout(r, 300));
      // The one read at the start (what was committed before the subscription), then nothing.
      expect(reads()).toBe(1);
      log.push({ type: "join", member: member("a", 1n), revision: 1n });
      await new Promise((r) => setTimeout(r, 300));
      expect(feed.has("a")).toBe(false);
      const joined = next(feed, (e) => e.type === "join", 5000, "the join after a pushed hint");
      hint("g");
      await joined;
      // A read that fails is not left to a hint that may never come: retried with backoff.
      failReads(2);
      log.push({ type: "join", member: member("b", 2n), revision: 2n });
      const retried = next(feed, (e) => e.type === "join", 5000, "the join after two failed reads");
      hint("g");
      await retried;
      expect(feed.has("b")).toBe(true);
    } finally {
      feed.stop();
      session.markClosed();
    }
  });
});
