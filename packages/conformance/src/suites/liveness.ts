import type { Coordinator } from "@rollcall/core";
import type { LabHost } from "@rollcall/servers";
import { describe, expect, it } from "vitest";
import { type EventRecorder, type Harness, randomId } from "../harness.js";
import type { Participant } from "../message-log.js";

/**
 * A watcher, and a member of `compute` that the test can crash, freeze, close or (with `host`, a
 * network-lab host to run in) cut off, seen in the watcher's snapshot.
 */
export async function watchedMember(
  h: Harness,
  prefix: string,
  metadata?: Record<string, number>,
  host?: LabHost,
): Promise<{ watcher: Coordinator; member: Participant; recorder: EventRecorder }> {
  const watcher = await h.coordinator();
  await watcher.createGroup("compute");
  const member = h.participant(
    randomId(prefix),
    { join: [{ group: "compute", ...(metadata ? { metadata } : {}) }] },
    h.characteristics.scope,
    host,
  );
  await member.ready(h.eventTimeout * 2);
  const recorder = h.record(watcher, "compute");
  await recorder.waitFor(
    (e) => e.type === "snapshot" && e.members.some((m) => m.id === member.memberId),
    h.eventTimeout,
    "the member in the snapshot",
  );
  return { watcher, member, recorder };
}

/**
 * Ephemeral liveness with real processes (or, for `scope: "process"` backends, in-process members
 * driven through `sessionControl`): crash, graceful close, freeze past the timeout and thaw.
 */
export function livenessSuite(h: Harness): void {
  describe("ephemeral liveness", () => {
    const long = () => h.detectionBound * 4 + 30_000;

    it(
      "a crashed member (SIGKILL) is seen to leave within the detection bound",
      async () => {
        const { watcher, member, recorder } = await watchedMember(h, "crash");
        const killedAt = Date.now();
        await member.kill();
        const leave = await recorder.waitFor(
          (e) => e.type === "leave" && e.memberId === member.memberId,
          h.detectionBound + h.eventTimeout,
          "the crashed member's leave",
        );
        const detectedAfter = Date.now() - killedAt;
        expect(leave).toMatchObject({ reason: h.characteristics.leaveReason ? "expired" : "unknown" });
        expect(detectedAfter).toBeLessThanOrEqual(h.detectionBound + 1000);
        expect((await watcher.members("compute")).map((m) => m.id)).not.toContain(member.memberId);
      },
      long(),
    );

    it(
      "a member that closes is seen to leave promptly, with reason left where declared",
      async () => {
        const { member, recorder } = await watchedMember(h, "grace");
        member.close();
        const leave = await recorder.waitFor(
          (e) => e.type === "leave" && e.memberId === member.memberId,
          h.eventTimeout,
          "the closed member's leave",
        );
        expect(leave).toMatchObject({ reason: h.characteristics.leaveReason ? "left" : "unknown" });
        await member.waitFor((m) => m.type === "closed", h.eventTimeout, "closed");
      },
      long(),
    );

    it(
      "a member frozen past its timeout is seen to leave; thawed, it reports expired, re-joins by itself and is seen again",
      async () => {
        const { watcher, member, recorder } = await watchedMember(h, "frozen", { v: 1 });
        member.freeze();
        await recorder.waitFor(
          (e) => e.type === "leave" && e.memberId === member.memberId,
          h.detectionBound + h.eventTimeout,
          "the frozen member's leave",
        );
        member.thaw();
        await member.waitFor(
          (m) => m.type === "session" && m.state === "expired",
          h.eventTimeout + h.sessionTimeout * 2,
          "its own session expired",
        );
        await member.waitFor((m) => m.type === "rejoined", h.eventTimeout + h.detectionBound * 2, "rejoined");
        const rejoin = await recorder.waitFor(
          (e) => e.type === "join" && e.member.id === member.memberId,
          h.eventTimeout + h.detectionBound,
          "the member joining again",
        );
        expect(rejoin.type === "join" && rejoin.member.metadata).toEqual({ v: 1 });
        const kinds = member.sessionStates();
        expect(kinds).toContain("expired");
        expect(kinds[kinds.length - 1]).toBe("connected");
        expect((await watcher.members("compute")).map((m) => m.id)).toContain(member.memberId);
      },
      long(),
    );

    it(
      "a short freeze, well inside the timeout, causes no leave",
      async () => {
        const { member, recorder } = await watchedMember(h, "blink");
        member.freeze();
        await new Promise((r) => setTimeout(r, Math.floor(h.sessionTimeout / 4)));
        member.thaw();
        // Wait past a whole detection bound: a spurious expiry would have shown by then.
        await new Promise((r) => setTimeout(r, h.detectionBound));
        expect(recorder.events.filter((e) => e.type === "leave")).toEqual([]);
        expect(member.sessionStates()).not.toContain("expired");
      },
      long(),
    );
  });
}
