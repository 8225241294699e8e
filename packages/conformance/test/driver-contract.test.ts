import {
  type ChangeBatch,
  type Driver,
  type DriverEvent,
  type Metadata,
  RollcallError,
  type WatchListener,
} from "@rollcall/core/driver";
import { describe, expect, it } from "vitest";
import { randomId, withParams } from "../src/harness.js";
import {
  ContractViolation,
  checkRetriedWrites,
  checkWatchFromSnapshot,
  type DriverCheckTarget,
} from "../src/suites/driver-contract.js";
import { brokenMemory } from "./support/broken-backend.js";

/** The honest memory driver, with some of its members replaced. */
function withOverrides(driver: Driver, overrides: Partial<Driver>): Driver {
  return new Proxy(driver, {
    get(target, property, receiver) {
      if (Object.hasOwn(overrides, property)) return Reflect.get(overrides, property, receiver);
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function target(base: string): DriverCheckTarget {
  return { url: withParams(base, { namespace: randomId("ns"), sessionTimeout: 2000 }), eventTimeout: 2000 };
}

async function violation(check: Promise<void>): Promise<ContractViolation> {
  const error = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ContractViolation))
    throw new Error(`expected a ContractViolation, got ${error === undefined ? "success" : String(error)}`);
  return error;
}

/** memory://, its changes read through `changes()` as a poll driver would deliver them. */
function asPollDriver(driver: Driver, shift = 0n): Driver {
  const watch = driver.watch?.bind(driver);
  if (!watch) throw new Error("memory has a push watch");
  return withOverrides(driver, {
    characteristics: { ...driver.characteristics, watch: "poll" },
    watch: undefined,
    async changes(group: string, since: bigint): Promise<ChangeBatch> {
      const events: DriverEvent[] = [];
      let resync: string | undefined;
      const handle = await watch(group, since + shift, {
        event: (e) => events.push(e),
        resync: (reason) => {
          resync = reason;
        },
      });
      // memory delivers a watch's backlog after a microtask: one macrotask turn is enough.
      await new Promise((r) => setImmediate(r));
      await handle.close();
      if (resync !== undefined) return { resync };
      return { events, revision: events.at(-1)?.revision ?? since };
    },
  });
}

describe("checkRetriedWrites", () => {
  const memoryUrl = `memory://selftest-${process.pid}`;

  it("passes on memory://", async () => {
    await checkRetriedWrites(target(memoryUrl));
  });

  it("rejects a driver whose retried join fails with MEMBER_EXISTS", async () => {
    const url = brokenMemory("rejoinexists", (driver) =>
      withOverrides(driver, {
        // The old rule: any existing record is MEMBER_EXISTS, whoever holds it.
        async join(group: string, memberId: string, metadata: Metadata) {
          const { members } = await driver.members(group);
          if (members.some((m) => m.id === memberId))
            throw new RollcallError("MEMBER_EXISTS", `${memberId} is already in ${group}`, {
              group,
              memberId,
            });
          return driver.join(group, memberId, metadata);
        },
      }),
    );
    const error = await violation(checkRetriedWrites(target(url)));
    expect(error.message).toMatch(
      /a join retried by the same session \(its first attempt landed\) rejected with MEMBER_EXISTS/,
    );
  });

  it("rejects a driver that answers a retried join by joining again (a new seq)", async () => {
    const url = brokenMemory("rejoinnewseq", (driver) =>
      withOverrides(driver, {
        async join(group: string, memberId: string, metadata: Metadata) {
          const { members } = await driver.members(group);
          if (members.some((m) => m.id === memberId)) await driver.leave(group, memberId).catch(() => {});
          return driver.join(group, memberId, metadata);
        },
      }),
    );
    const error = await violation(checkRetriedWrites(target(url)));
    expect(error.message).toMatch(
      /the retried join's record has seq \d+; the join that created the member assigned \d+/,
    );
  });

  it("rejects a driver whose retried join keeps the old metadata", async () => {
    const url = brokenMemory("rejoinoldmeta", (driver) =>
      withOverrides(driver, {
        async join(group: string, memberId: string, metadata: Metadata) {
          const { members } = await driver.members(group);
          const current = members.find((m) => m.id === memberId);
          return driver.join(group, memberId, current?.metadata ?? metadata);
        },
      }),
    );
    const error = await violation(checkRetriedWrites(target(url)));
    expect(error.message).toMatch(
      /a join retried with other metadata has metadata \{"n":1\}; expected \{"n":2\}/,
    );
  });

  it("rejects a driver that lets a second session join with a taken member id", async () => {
    const url = brokenMemory("rejoinsteal", (driver) =>
      withOverrides(driver, {
        async join(group: string, memberId: string, metadata: Metadata) {
          try {
            return await driver.join(group, memberId, metadata);
          } catch (error) {
            if (!RollcallError.hasCode(error, "MEMBER_EXISTS")) throw error;
            const now = new Date();
            return { id: memberId, group, metadata, seq: 0n, joinedAt: now, updatedAt: now };
          }
        },
      }),
    );
    const error = await violation(checkRetriedWrites(target(url)));
    expect(error.message).toMatch(
      /a join by another session with the same member id resolved .*; expected MEMBER_EXISTS/,
    );
  });

  it("rejects a driver whose update cannot be retried", async () => {
    const url = brokenMemory("updateonce", (driver) => {
      const applied = new Set<string>();
      return withOverrides(driver, {
        // A compare-and-set on the version the driver last saw: the retry's version is stale.
        async update(group: string, memberId: string, metadata: Metadata) {
          const key = `${group}\n${memberId}\n${JSON.stringify(metadata)}`;
          if (applied.has(key))
            throw new RollcallError("MEMBER_NOT_JOINED", "version mismatch", { group, memberId });
          applied.add(key);
          return driver.update(group, memberId, metadata);
        },
      });
    });
    const error = await violation(checkRetriedWrites(target(url)));
    expect(error.message).toMatch(/an update retried by the same session rejected with MEMBER_NOT_JOINED/);
  });
});

/**
 * memory:// declared push but without `watch()`: read through `changes()` on change hints, which every
 * write of any driver of this scheme sends (naming the group) — except the kinds `silent` names.
 */
function asHintedDriver(driver: Driver, bus: Set<(topic?: string) => void>, silent: string[] = []): Driver {
  const polled = asPollDriver(driver);
  const hint = (kind: string, group: string) => {
    if (!silent.includes(kind)) for (const listener of [...bus]) listener(group);
  };
  return withOverrides(polled, {
    characteristics: { ...driver.characteristics, watch: "push" },
    async join(group: string, memberId: string, metadata: Metadata) {
      const member = await driver.join(group, memberId, metadata);
      hint("join", group);
      return member;
    },
    async update(group: string, memberId: string, metadata: Metadata) {
      const member = await driver.update(group, memberId, metadata);
      hint("update", group);
      return member;
    },
    async leave(group: string, memberId: string) {
      await driver.leave(group, memberId);
      hint("leave", group);
    },
    changeHints(listener: (topic?: string) => void) {
      bus.add(listener);
      return () => bus.delete(listener);
    },
  });
}

describe("checkWatchFromSnapshot", () => {
  const memoryUrl = `memory://selftest-${process.pid}`;

  /** A memory driver whose watch starts from another revision than asked, or edits what it delivers. */
  function brokenWatch(
    name: string,
    start: (from: bigint) => bigint,
    relay: (listener: WatchListener) => WatchListener = (l) => l,
  ): string {
    return brokenMemory(name, (driver) => {
      const watch = driver.watch?.bind(driver);
      if (!watch) throw new Error("memory has a push watch");
      return withOverrides(driver, {
        watch: (group: string, from: bigint, listener: WatchListener) =>
          watch(group, start(from), relay(listener)),
      });
    });
  }

  it("passes on memory:// (push)", async () => {
    await checkWatchFromSnapshot(target(memoryUrl));
  });

  it("passes on memory:// read through changes() (poll)", async () => {
    const url = brokenMemory("pollmemory", (driver) => asPollDriver(driver));
    await checkWatchFromSnapshot(target(url));
  });

  it("passes on memory:// declared push without watch(), read through changes() on change hints", async () => {
    const bus = new Set<(topic?: string) => void>();
    const url = brokenMemory("hintedmemory", (driver) => asHintedDriver(driver, bus));
    await checkWatchFromSnapshot(target(url));
  });

  it("rejects a push driver without watch() whose writes send no hints", async () => {
    const bus = new Set<(topic?: string) => void>();
    const url = brokenMemory("hintedsilent", (driver) =>
      asHintedDriver(driver, bus, ["join", "update", "leave"]),
    );
    const error = await violation(checkWatchFromSnapshot(target(url)));
    expect(error.message).toMatch(
      /changes\(group, \d+\) on change hints started from a members\(\) snapshot/,
    );
    expect(error.message).toMatch(/the last change did not arrive within \d+ ms/);
  });

  it("rejects a watch that starts from the beginning (re-delivers what the snapshot holds)", async () => {
    const url = brokenWatch("watchfromzero", () => 0n);
    const error = await violation(checkWatchFromSnapshot(target(url)));
    expect(error.message).toMatch(/delivered\n {2}join a seq=\d+ \{"v":"a0"\}\n {2}join b/);
  });

  it("rejects a watch that starts one revision early (re-delivers the snapshot's last change)", async () => {
    const url = brokenWatch("watchoffbyone", (from) => from - 1n);
    const error = await violation(checkWatchFromSnapshot(target(url)));
    expect(error.message).toMatch(/delivered\n {2}join b seq=\d+ \{"v":"b0"\}\n {2}join c/);
  });

  it("rejects a watch that drops the first change after the snapshot", async () => {
    const url = brokenWatch(
      "watchdropfirst",
      (from) => from,
      (listener) => {
        let dropped = false;
        return {
          event: (event) => {
            if (dropped) listener.event(event);
            dropped = true;
          },
          resync: (reason) => listener.resync(reason),
        };
      },
    );
    const error = await violation(checkWatchFromSnapshot(target(url)));
    expect(error.message).toMatch(/delivered\n {2}update a seq=\d+ \{"v":"a1"\}/);
    expect(error.message).toMatch(/but exactly the changes after the snapshot are\n {2}join c/);
  });

  it("rejects a watch whose revisions are not above the snapshot's", async () => {
    const url = brokenWatch(
      "watchlowrevision",
      (from) => from,
      (listener) => ({
        event: (event) => listener.event({ ...event, revision: event.revision - 1_000_000n }),
        resync: (reason) => listener.resync(reason),
      }),
    );
    const error = await violation(checkWatchFromSnapshot(target(url)));
    expect(error.message).toMatch(/delivered "join c seq=\d+ \{"v":"c0"\}" at revision -?\d+, not above \d+/);
  });

  it("rejects changes() that re-delivers the snapshot's last change (poll)", async () => {
    const url = brokenMemory("polloffbyone", (driver) => asPollDriver(driver, -1n));
    const error = await violation(checkWatchFromSnapshot(target(url)));
    expect(error.message).toMatch(
      /changes\(group, \d+\) started from a members\(\) snapshot of \[a,b\] delivered\n {2}join b/,
    );
  });
});
