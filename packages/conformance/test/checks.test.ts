/**
 * The kit's self-test for checks d–g of issue 19: each passes on the honest memory:// driver and
 * fails on a memory driver with the bug it exists to catch (see support/broken-backend.ts).
 */
import type { Driver, GroupSnapshot, WatchListener } from "@rollcall/core/driver";
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../src/harness.js";
import { checkFrozenLeader } from "../src/suites/election-liveness.js";
import { checkResignHandover } from "../src/suites/handover.js";
import { checkPrefixNames } from "../src/suites/prefix-groups.js";
import { checkDepartureInGap } from "../src/suites/watch-gap.js";
import { brokenMemory } from "./support/broken-backend.js";
import { harnessFor, override } from "./support/check-harness.js";

const honest = `memory://selftest-${process.pid}`;

/** Bug for check f: the "predecessor gone" notification never fires (only the abort ends the wait). */
const silentAwaitGone = brokenMemory("nogone", (driver) =>
  override(driver, () => ({
    awaitGone: (_group: string, _memberId: string, signal: AbortSignal) =>
      new Promise<void>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
  })),
);

/** Bug for check d: reports a session timeout 25 % longer than the one the store applies. */
const longTimeout = brokenMemory("longtimeout", (driver) =>
  override(driver, (inner) => ({
    get sessionTimeout() {
      return inner.sessionTimeout * 1.25;
    },
  })),
);

/** Bug for check g: `members(group)` also returns the members of every group whose name starts with it. */
const prefixLeak = brokenMemory("prefixleak", (driver) =>
  override(driver, (inner) => ({
    members: async (group: string): Promise<GroupSnapshot> => {
      const snapshot = await inner.members(group);
      for (const other of await inner.listGroups()) {
        if (other !== group && other.startsWith(group))
          snapshot.members.push(...(await inner.members(other)).members);
      }
      return snapshot;
    },
  })),
);

/**
 * Places a departure in the gap between a listing and the watch that follows it, deterministically:
 * a listing of two or more members is returned only once one of them has left (or after a second).
 */
function gapMembers(inner: Driver): (group: string) => Promise<GroupSnapshot> {
  return async (group) => {
    const snapshot = await inner.members(group);
    if (snapshot.members.length < 2) return snapshot;
    const deadline = performance.now() + 1000;
    while (performance.now() < deadline) {
      const now = new Set((await inner.members(group)).members.map((m) => m.id));
      if (snapshot.members.some((m) => !now.has(m.id))) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    return snapshot;
  };
}

/** Honest watch, departure forced into the gap: check e must pass. */
const gapOnly = brokenMemory("gaponly", (driver) =>
  override(driver, (inner) => ({ members: gapMembers(inner) })),
);

/**
 * Bug for check e: departure forced into the gap, and a watch that starts from "now" instead of the
 * revision it was asked for (a live subscription that drops the backlog), so it misses that departure.
 */
const gapLost = brokenMemory("gaplost", (driver) =>
  override(driver, (inner) => ({
    members: gapMembers(inner),
    watch: async (group: string, fromRevision: bigint, listener: WatchListener) => {
      const { revision } = await inner.members(group);
      const watch = inner.watch?.bind(inner);
      if (!watch) throw new Error("memory:// has a push watch");
      return watch(group, revision > fromRevision ? revision : fromRevision, listener);
    },
  })),
);

let current: Harness | undefined;
async function harness(url: string): Promise<Harness> {
  current = await harnessFor(url);
  return current;
}
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

describe("check d: the frozen leader's validity deadline", () => {
  it("passes on memory://", async () => {
    await checkFrozenLeader(await harness(honest));
  });

  it("fails on a driver reporting a longer sessionTimeout than the server applies", async () => {
    await expect(checkFrozenLeader(await harness(longTimeout))).rejects.toThrow(
      /believed itself valid until/,
    );
  });
});

describe("check e: a departure between a view's listing and its watch", () => {
  it("passes on memory://", async () => {
    await checkDepartureInGap(await harness(honest));
  });

  it("passes on memory:// with every departure forced into the gap", async () => {
    await checkDepartureInGap(await harness(gapOnly));
  });

  it("fails on a watch that misses a departure between the listing and its start", async () => {
    await expect(checkDepartureInGap(await harness(gapLost))).rejects.toThrow(/the view still holds/);
  });
});

describe("check f: hand-over after resign()", () => {
  it("passes on memory://", async () => {
    await checkResignHandover(await harness(honest));
  });

  it("fails on a driver whose awaitGone never fires", async () => {
    await expect(checkResignHandover(await harness(silentAwaitGone))).rejects.toThrow(
      /hand-over 1 .* never fired/,
    );
  });
});

describe("check g: names sharing a prefix", () => {
  it("passes on memory://", async () => {
    await checkPrefixNames(await harness(honest));
  });

  it("fails on a driver whose members(a) includes the members of ab", async () => {
    await expect(checkPrefixNames(await harness(prefixLeak))).rejects.toThrow(/members\(a\) after the joins/);
  });
});
