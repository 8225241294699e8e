import { type MembershipEvent, RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { eventually, type Harness, summary } from "../harness.js";

/** Watches and views: snapshot first, ordered events, completeness, convergence, ending cleanly. */
export function watchSuite(h: Harness): void {
  describe("watch and view", () => {
    it(".watch(group) yields a snapshot, then join, update and leave in order", async () => {
      const watcher = await h.coordinator();
      const a = await h.coordinator();
      const b = await h.coordinator();
      await a.join("compute", { createGroup: true, metadata: { n: 0 } });
      const recorder = h.record(watcher, "compute");
      await recorder.waitFor((e) => e.type === "snapshot", h.eventTimeout, "snapshot");
      await b.join("compute", { metadata: { n: 1 } });
      await b.updateMetadata("compute", { n: 2 });
      await b.leave("compute");
      await recorder.waitFor(
        (e) => e.type === "leave" && e.memberId === b.memberId,
        h.eventTimeout,
        "leave of b",
      );
      const events = recorder.events.map(summary);
      expect(events).toEqual([
        `snapshot[${a.memberId}]`,
        `join ${b.memberId}`,
        `update ${b.memberId}`,
        `leave ${b.memberId} (${h.characteristics.leaveReason ? "left" : "unknown"})`,
      ]);
      const update = recorder.events[2] as Extract<MembershipEvent, { type: "update" }>;
      expect(update.member.metadata).toEqual({ n: 2 });
      expect(recorder.events[0]?.group).toBe("compute");
    });

    it("a join immediately followed by a leave is seen as both events", async () => {
      const watcher = await h.coordinator();
      const a = await h.coordinator();
      await watcher.createGroup("compute");
      const recorder = h.record(watcher, "compute");
      await recorder.waitFor((e) => e.type === "snapshot", h.eventTimeout, "snapshot");
      for (let i = 0; i < 3; i++) {
        await a.join("compute");
        await a.leave("compute");
      }
      await eventually(
        () => recorder.events.filter((e) => e.type === "leave").length >= 3,
        h.eventTimeout,
        "three leaves",
      );
      const seen = recorder.events.filter((e) => e.type !== "snapshot").map((e) => e.type);
      expect(seen).toEqual(["join", "leave", "join", "leave", "join", "leave"]);
    });

    it("a watch started during churn converges to .members(group)", async () => {
      const watcher = await h.coordinator();
      const coords = await Promise.all(Array.from({ length: 6 }, () => h.coordinator()));
      await watcher.createGroup("compute");
      let recorder: ReturnType<typeof h.record> | undefined;
      for (let round = 0; round < 4; round++) {
        for (const [i, coord] of coords.entries()) {
          if ((i + round) % 2 === 0) await coord.join("compute").catch(() => {});
          else await coord.leave("compute").catch(() => {});
          if (round === 1 && i === 2) recorder = h.record(watcher, "compute");
        }
      }
      const expected = new Set((await watcher.members("compute")).map((m) => m.id));
      await eventually(
        () => {
          const ids = recorder?.ids() ?? new Set();
          return ids.size === expected.size && [...expected].every((id) => ids.has(id));
        },
        h.eventTimeout,
        `the watch to converge to ${[...expected].join(",")}`,
      );
    });

    it("breaking out of .watch(group) ends it; a signal ends it too", async () => {
      const coord = await h.coordinator();
      await coord.join("compute", { createGroup: true });
      let count = 0;
      for await (const event of coord.watch("compute")) {
        expect(event.type).toBe("snapshot");
        count++;
        break;
      }
      expect(count).toBe(1);
      const controller = new AbortController();
      const seen: string[] = [];
      const done = (async () => {
        for await (const event of coord.watch("compute", { signal: controller.signal }))
          seen.push(event.type);
      })();
      await eventually(() => seen.length === 1, h.eventTimeout, "the snapshot");
      controller.abort();
      await done;
      expect(seen).toEqual(["snapshot"]);
    });

    it(".watch(group) rejects with GROUP_NOT_FOUND for a missing group", async () => {
      const coord = await h.coordinator();
      const error = await (async () => {
        for await (const _ of coord.watch("missing")) return undefined;
      })().catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "GROUP_NOT_FOUND")).toBe(true);
    });

    it(".view(group) answers has/isUp/size/members without I/O and follows changes", async () => {
      const watcher = await h.coordinator();
      const a = await h.coordinator();
      const b = await h.coordinator();
      await a.join("compute", { createGroup: true, metadata: { n: 1 } });
      const view = await watcher.view("compute");
      const changes: string[] = [];
      view.on("change", (e) => changes.push(summary(e)));
      expect(view.group).toBe("compute");
      expect(view.size).toBe(1);
      expect(view.isUp(a.memberId)).toBe(true);
      expect(view.has(b.memberId)).toBe(false);
      await b.join("compute");
      await eventually(() => view.isUp(b.memberId), h.eventTimeout, "b up in the view");
      await a.updateMetadata("compute", { n: 2 });
      await eventually(
        () => view.get(a.memberId)?.metadata.n === 2,
        h.eventTimeout,
        "a's update in the view",
      );
      await a.leave("compute");
      await eventually(() => !view.isUp(a.memberId), h.eventTimeout, "a down in the view");
      expect(view.members().map((m) => m.id)).toEqual([b.memberId]);
      expect(view.size).toBe(1);
      expect(changes).toEqual([
        `join ${b.memberId}`,
        `update ${a.memberId}`,
        `leave ${a.memberId} (${h.characteristics.leaveReason ? "left" : "unknown"})`,
      ]);
      await view.close();
      expect(view.isUp(b.memberId)).toBe(false);
    });

    it("several watches and views of one group see the same events", async () => {
      const watcher = await h.coordinator();
      const a = await h.coordinator();
      await watcher.createGroup("compute");
      const first = h.record(watcher, "compute");
      const second = h.record(watcher, "compute");
      const view = await watcher.view("compute");
      await a.join("compute");
      await first.waitFor((e) => e.type === "join", h.eventTimeout, "join (first)");
      await second.waitFor((e) => e.type === "join", h.eventTimeout, "join (second)");
      await eventually(() => view.isUp(a.memberId), h.eventTimeout, "view");
      await view.close();
    });
  });
}
