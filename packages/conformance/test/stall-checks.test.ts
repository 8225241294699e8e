/**
 * The kit's self-test for checks a–c of issue 19 (short stalls): each passes on the honest memory://
 * driver and fails on a memory driver with the bug it exists to catch (see support/broken-backend.ts).
 */
import type { Driver, SessionListener, WatchListener } from "@rollcall/core/driver";
import { memorySessions } from "@rollcall/memory";
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../src/harness.js";
import {
  checkNoUnansweredRenewal,
  checkReportedSuspension,
  checkWatchAcrossShortCut,
  disconnected,
  frozen,
} from "../src/suites/stall.js";
import { brokenMemory } from "./support/broken-backend.js";
import { harnessFor, override } from "./support/check-harness.js";

const honest = `memory://selftest-${process.pid}`;

/** A listener passing everything on except what `keep` refuses. */
function filtered(
  listener: SessionListener,
  keep: (state: "connected" | "suspended" | "expired") => boolean,
) {
  return {
    state: (state: "connected" | "suspended" | "expired") => {
      if (keep(state)) listener.state(state);
    },
    renewed: (sentAt: number) => listener.renewed(sentAt),
  };
}

/** Bug for check b: never reports `suspended` when cut off; only core's ¾-of-timeout fallback notices. */
const noSuspend = brokenMemory("nosuspend", (driver) =>
  override(driver, (inner) => ({
    open: (listener: SessionListener, signal: AbortSignal) =>
      inner.open(
        filtered(listener, (state) => state !== "suspended"),
        signal,
      ),
  })),
);

/**
 * Bug for check c: carries on as if every heartbeat were answered — while cut off it reports a renewal
 * every third of the timeout that the server never acknowledged (and so, believing itself connected,
 * no suspension either).
 */
const liar = brokenMemory("liar", (driver) => {
  let lying: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(lying);
    lying = undefined;
  };
  return override(driver, (inner) => ({
    open: (listener: SessionListener, signal: AbortSignal) =>
      inner.open(
        {
          state: (state) => {
            if (state === "suspended") {
              lying ??= setInterval(
                () => listener.renewed(performance.now()),
                Math.floor(inner.sessionTimeout / 3),
              );
              lying.unref();
              return;
            }
            stop();
            listener.state(state);
          },
          renewed: (sentAt) => listener.renewed(sentAt),
        },
        signal,
      ),
    close: async () => {
      stop();
      await inner.close();
    },
  }));
});

/** Bug for check a: after a cut-off, its watch drops the first event it delivers. */
const dropper = brokenMemory("dropper", (driver: Driver) => {
  let cutOff = false;
  return override(driver, (inner) => ({
    open: (listener: SessionListener, signal: AbortSignal) =>
      inner.open(
        {
          state: (state) => {
            if (state === "suspended") cutOff = true;
            listener.state(state);
          },
          renewed: (sentAt) => listener.renewed(sentAt),
        },
        signal,
      ),
    watch: (group: string, fromRevision: bigint, listener: WatchListener) => {
      const watch = inner.watch?.bind(inner);
      if (!watch) throw new Error("memory:// has a push watch");
      return watch(group, fromRevision, {
        event: (event) => {
          if (cutOff) cutOff = false;
          else listener.event(event);
        },
        resync: (reason) => listener.resync(reason),
      });
    },
  }));
});

let current: Harness | undefined;
async function harness(url: string): Promise<Harness> {
  current = await harnessFor(url);
  return current;
}
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

const cutOff = disconnected(memorySessions);

describe("check a: a watcher cut off for less than its timeout", () => {
  it("passes on memory://, disconnected", async () => {
    await checkWatchAcrossShortCut(await harness(honest), cutOff);
  });

  it("passes on memory://, frozen", async () => {
    await checkWatchAcrossShortCut(await harness(honest), frozen());
  });

  it("fails on a watch that drops an event after a short cut-off", async () => {
    await expect(checkWatchAcrossShortCut(await harness(dropper), cutOff)).rejects.toThrow(
      /did not add up to members\(\).*missing|is not in members\(\)/,
    );
  });
});

describe("check b: driver-reported suspension", () => {
  it("passes on memory://", async () => {
    await checkReportedSuspension(await harness(honest), cutOff);
  });

  it("fails on a driver that never reports suspended (only core's fallback)", async () => {
    await expect(checkReportedSuspension(await harness(noSuspend), cutOff)).rejects.toThrow(
      /the driver did not report suspended .* only core's validity fallback/,
    );
  });
});

describe("check c: renewals that were never answered", () => {
  it("passes on memory://", async () => {
    await checkNoUnansweredRenewal(await harness(honest), cutOff);
  });

  it("passes on a driver that never reports suspended: core's fallback still ends validity in time", async () => {
    await checkNoUnansweredRenewal(await harness(noSuspend), cutOff);
  });

  it("fails on a driver that reports renewals the server did not acknowledge", async () => {
    const failure = checkNoUnansweredRenewal(await harness(liar), cutOff);
    await expect(failure).rejects.toThrow(/validity ended at .* after .* was elected/);
    await expect(failure).rejects.toThrow(
      /reported \d+ renewal\(s\) the stalled server could not have acknowledged/,
    );
  });
});
