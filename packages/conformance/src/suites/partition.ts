import type { Member } from "@rollcall/core";
import { createNetworkLab, type LabHost, type NetworkLab, networkLabUnavailable } from "@rollcall/servers";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, type TestContext } from "vitest";
import { eventually, Harness, randomId } from "../harness.js";
import type { WatchedEvent } from "../member-script.js";
import type { ChildMessage } from "../message-log.js";
import type { ConformanceOptions } from "../options.js";
import { resolveOptions } from "../server-target.js";
import { assertNoOverlap, intervals } from "./election-liveness.js";
import { watchedMember } from "./liveness.js";
import { labStallChecks } from "./stall.js";

/** Set to `1` to make an unavailable network lab a failure instead of a skip (CI as root). */
export const REQUIRE_PARTITION_ENV = "ROLLCALL_REQUIRE_PARTITION";

/** The group state a watcher's reported events add up to: id → metadata (JSON). */
function replay(messages: readonly ChildMessage[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const message of messages) {
    if (message.type !== "watch") continue;
    const event = message.event as WatchedEvent;
    if (event.type === "snapshot") {
      state.clear();
      for (const m of event.members ?? []) state.set(m.id, JSON.stringify(m.metadata));
    } else if (event.type === "leave") {
      state.delete(event.memberId as string);
    } else {
      state.set(event.memberId as string, JSON.stringify(event.metadata));
    }
  }
  return state;
}

function listed(members: readonly Member[]): Map<string, string> {
  return new Map(members.map((m) => [m.id, JSON.stringify(m.metadata)]));
}

function sameState(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([id, metadata]) => b.get(id) === metadata);
}

/**
 * Real network partitions: member processes run in Linux network namespaces (hosts of a
 * {@link NetworkLab}) and reach the server over a veth link that the test takes down — the process
 * keeps running, keeps its timers and its sockets, and hears nothing. Needs root; where namespaces
 * cannot be created every test is skipped with the reason (or fails, with `ROLLCALL_REQUIRE_PARTITION=1`).
 */
export function partitionSuite(given: ConformanceOptions): void {
  const options = resolveOptions(given);
  describe(`${options.name} partitions`, () => {
    const h = new Harness(options);
    let lab: NetworkLab | undefined;
    let unavailable: string | undefined;
    const hosts: LabHost[] = [];

    beforeAll(async () => {
      unavailable = await networkLabUnavailable();
      if (unavailable !== undefined) return;
      lab = await createNetworkLab();
      h.target = await options.setup({ lab });
      await h.probeCharacteristics();
    }, 180_000);
    afterAll(async () => {
      await h.target?.close?.();
      await lab?.close();
    }, 120_000);
    beforeEach(() => h.freshNamespace());
    afterEach(async () => {
      await Promise.allSettled(hosts.splice(0).map((host) => host.heal()));
      await h.cleanup();
    }, 60_000);

    /** A fresh lab host, or the test is skipped (failed, when required) with the reason. */
    async function host(ctx: TestContext, label: string): Promise<LabHost> {
      if (unavailable !== undefined || !lab) {
        const why = `network partitions cannot be tested here: ${unavailable ?? "no network lab"}`;
        if (process.env[REQUIRE_PARTITION_ENV] === "1") throw new Error(why);
        ctx.skip(why);
      }
      const created = await (lab as NetworkLab).addHost(label);
      hosts.push(created);
      return created;
    }

    const long = () => h.detectionBound * 6 + 60_000;

    it(
      "a member partitioned past its timeout is seen to leave; it reports suspended, then expired, by itself; healed, it re-joins",
      async (ctx) => {
        const where = await host(ctx, "member");
        const { member, recorder } = await watchedMember(h, "cut", { v: 1 }, where);
        const cutAt = Date.now();
        await where.cut();
        await recorder.waitFor(
          (e) => e.type === "leave" && e.memberId === member.memberId,
          h.detectionBound + h.eventTimeout,
          "the partitioned member's leave",
        );
        expect(Date.now() - cutAt).toBeLessThanOrEqual(h.detectionBound + h.eventTimeout);
        // Still cut off: what the member knows, it worked out by itself.
        await member.waitFor(
          (m) => m.type === "session" && m.state === "expired",
          h.sessionTimeout * 2 + h.eventTimeout,
          "its own session expired while partitioned",
        );
        const states = member.sessionStates();
        expect(states.indexOf("suspended")).toBeGreaterThanOrEqual(0);
        expect(states.indexOf("suspended")).toBeLessThan(states.indexOf("expired"));
        await where.heal();
        await member.waitFor((m) => m.type === "rejoined", h.eventTimeout + h.detectionBound * 2, "rejoined");
        const rejoin = await recorder.waitFor(
          (e) => e.type === "join" && e.member.id === member.memberId,
          h.eventTimeout + h.detectionBound,
          "the member joining again",
        );
        expect(rejoin.type === "join" && rejoin.member.metadata).toEqual({ v: 1 });
        expect(member.sessionStates().at(-1)).toBe("connected");
      },
      long(),
    );

    it(
      "a short partition, well inside the timeout, causes no leave and no expiry",
      async (ctx) => {
        const where = await host(ctx, "blink");
        const { watcher, member, recorder } = await watchedMember(h, "blink", undefined, where);
        await where.cut();
        await new Promise((r) => setTimeout(r, Math.floor(h.sessionTimeout / 4)));
        await where.heal();
        // Wait past a whole detection bound: a spurious leave or expiry would have shown by then.
        await new Promise((r) => setTimeout(r, h.detectionBound));
        expect(recorder.events.filter((e) => e.type === "leave")).toEqual([]);
        expect(member.sessionStates()).not.toContain("expired");
        expect((await watcher.members("compute")).map((m) => m.id)).toContain(member.memberId);
      },
      long(),
    );

    it(
      "a partitioned leader stops being leader before its successor is elected; healed, it campaigns again",
      async (ctx) => {
        const where = await host(ctx, "leader");
        const election = randomId("e");
        const a = h.participant(randomId("lead"), { campaign: { election } }, h.characteristics.scope, where);
        const first = await a.waitFor((m) => m.type === "elected", h.eventTimeout * 2, "a elected");
        const b = h.participant(randomId("next"), { campaign: { election } }, h.characteristics.scope);
        await b.waitFor((m) => m.type === "campaigning", h.eventTimeout * 2, "b campaigning");
        await where.cut();
        const second = await b.waitFor(
          (m) => m.type === "elected",
          h.detectionBound + h.eventTimeout * 2,
          "b elected after a was cut off",
        );
        const deposed = await a.waitFor(
          (m) => m.type === "deposed" && m.token === first.token,
          h.eventTimeout,
          "a deposed (reported by a itself, while partitioned)",
        );
        expect(Number(deposed.endedAt)).toBeLessThanOrEqual(Number(second.electedAt));
        expect(BigInt(String(second.token)) > BigInt(String(first.token))).toBe(true);
        await where.heal();
        const observer = await h.coordinator();
        await eventually(
          async () => (await observer.election(election).candidates()).some((m) => m.id === a.memberId),
          h.eventTimeout + h.detectionBound * 2,
          "a campaigning again after the heal",
        );
        b.resign();
        const third = await a.waitFor(
          (m) => m.type === "elected" && m.token !== first.token,
          h.eventTimeout + h.detectionBound,
          "a elected again",
        );
        expect(BigInt(String(third.token)) > BigInt(String(second.token))).toBe(true);
        assertNoOverlap(intervals([a, b]));
      },
      long(),
    );

    it(
      "a watcher partitioned past its timeout converges after the heal, with every change reported",
      async (ctx) => {
        const where = await host(ctx, "watcher");
        const admin = await h.coordinator();
        await admin.createGroup("compute");
        const a = await h.coordinator(randomId("a"));
        const b = await h.coordinator(randomId("b"));
        await a.join("compute", { metadata: { v: 1 } });
        await b.join("compute", { metadata: { v: 1 } });
        const watcher = h.participant(randomId("w"), { watch: "compute" }, h.characteristics.scope, where);
        await watcher.ready(h.eventTimeout * 2);
        await eventually(
          async () => sameState(replay(watcher.messages), listed(await admin.members("compute"))),
          h.eventTimeout,
          "the watcher's first snapshot",
        );
        await where.cut();
        await a.leave("compute");
        await b.updateMetadata("compute", { v: 2 });
        const c = await h.coordinator(randomId("c"));
        await c.join("compute", { metadata: { v: 3 } });
        // The partition outlasts the watcher's own session; more changes happen meanwhile.
        await watcher.waitFor(
          (m) => m.type === "session" && m.state === "expired",
          h.sessionTimeout * 2 + h.eventTimeout,
          "the watcher's session expired while partitioned",
        );
        const d = await h.coordinator(randomId("d"));
        await d.join("compute", { metadata: { v: 4 } });
        await c.updateMetadata("compute", { v: 5 });
        await where.heal();
        const expected = listed(await admin.members("compute"));
        expect([...expected.keys()].sort()).toEqual([b.memberId, c.memberId, d.memberId].sort());
        await eventually(
          () => sameState(replay(watcher.messages), expected),
          h.eventTimeout + h.detectionBound * 2,
          "the watcher's events adding up to members() after the heal",
        );
        expect(watcher.messages.filter((m) => m.type === "watch-error")).toEqual([]);
      },
      long(),
    );

    labStallChecks(h, host);
  });
}
