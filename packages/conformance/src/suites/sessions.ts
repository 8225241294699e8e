import { connect, RollcallError, type SessionState } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { type Harness, randomId } from "../harness.js";

/** Sessions and characteristics: state, close, use after close, require. */
export function sessionsSuite(h: Harness): void {
  describe("sessions", () => {
    it("a new coordinator is connected and says what it is", async () => {
      const coord = await h.coordinator();
      expect(coord.state).toBe("connected");
      expect(typeof coord.backend).toBe("string");
      const c = coord.characteristics;
      expect(["process", "host", "cluster"]).toContain(c.scope);
      expect(["session", "ttl"]).toContain(c.liveness);
      expect(["push", "poll"]).toContain(c.watch);
      expect(typeof c.leaveReason).toBe("boolean");
      expect(["linearizable", "sequential", "serializable"]).toContain(c.consistency);
      expect(coord.sessionTimeout).toBeGreaterThan(0);
    });

    it(".close() leaves every group: peers see the leave, with reason left where declared", async () => {
      const watcher = await h.coordinator();
      const coord = await connect(h.url(), { memberId: randomId("m") });
      await coord.join("compute", { createGroup: true });
      await coord.join("other", { createGroup: true });
      const recorder = h.record(watcher, "compute");
      await recorder.waitFor((e) => e.type === "snapshot", h.eventTimeout, "snapshot");
      const states: SessionState[] = [];
      coord.on("session", (state) => states.push(state));
      await coord.close();
      const leave = await recorder.waitFor((e) => e.type === "leave", h.eventTimeout, "leave");
      expect(leave).toMatchObject({
        memberId: coord.memberId,
        reason: h.characteristics.leaveReason ? "left" : "unknown",
      });
      expect(await watcher.members("other")).toEqual([]);
      expect(coord.state).toBe("closed");
      expect(states).toEqual(["closed"]);
    });

    it(".close() is idempotent and every operation afterwards rejects with NOT_CONNECTED", async () => {
      const coord = await connect(h.url(), { memberId: randomId("m") });
      await coord.join("compute", { createGroup: true });
      await Promise.all([coord.close(), coord.close()]);
      await coord.close();
      const attempts: (() => Promise<unknown>)[] = [
        () => coord.join("compute"),
        () => coord.members("compute"),
        () => coord.groups(),
        () => coord.createGroup("x"),
        () => coord.election("e").campaign(),
        () => coord.lock("l").acquire(),
      ];
      for (const attempt of attempts) {
        const error = await Promise.resolve()
          .then(attempt)
          .catch((e: unknown) => e);
        expect(RollcallError.hasCode(error, "NOT_CONNECTED")).toBe(true);
      }
    });

    it("await using closes the coordinator", async () => {
      const watcher = await h.coordinator();
      await watcher.createGroup("compute");
      const id = randomId("m");
      {
        await using coord = await connect(h.url(), { memberId: id });
        await coord.join("compute");
        expect((await watcher.members("compute")).map((m) => m.id)).toEqual([id]);
      }
      expect(await watcher.members("compute")).toEqual([]);
    });

    it("connect({ require }) refuses a backend that lacks a characteristic", async () => {
      const probe = await h.coordinator();
      const c = probe.characteristics;
      const ok = await connect(h.url(), { memberId: randomId("m"), require: { ...c } });
      await ok.close();
      const unmet =
        c.liveness === "session" ? { liveness: "ttl" as const } : { liveness: "session" as const };
      const error = await connect(h.url(), { memberId: randomId("m"), require: unmet }).catch(
        (e: unknown) => e,
      );
      expect(RollcallError.hasCode(error, "CHARACTERISTIC_MISMATCH")).toBe(true);
      if (c.watch === "poll") {
        const push = await connect(h.url(), { memberId: randomId("m"), require: { watch: "push" } }).catch(
          (e: unknown) => e,
        );
        expect(RollcallError.hasCode(push, "CHARACTERISTIC_MISMATCH")).toBe(true);
      }
      if (c.scope !== "cluster") {
        const cluster = await connect(h.url(), {
          memberId: randomId("m"),
          require: { scope: "cluster" },
        }).catch((e: unknown) => e);
        expect(RollcallError.hasCode(cluster, "CHARACTERISTIC_MISMATCH")).toBe(true);
      }
    });

    it("connect() with an aborted signal rejects without connecting", async () => {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      const error = await connect(h.url(), { memberId: randomId("m"), signal: controller.signal }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
    });
  });
}
