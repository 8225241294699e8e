import { RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { type Harness, randomId } from "../harness.js";

/** Groups: create, list, delete, and their errors. */
export function groupsSuite(h: Harness): void {
  describe("groups", () => {
    it(".createGroup(group) makes it listed by .groups()", async () => {
      const coord = await h.coordinator();
      await coord.createGroup("alpha");
      await coord.createGroup("beta");
      expect(await coord.groups()).toEqual(["alpha", "beta"]);
    });

    it(".createGroup(group) rejects with GROUP_EXISTS for an existing group", async () => {
      const coord = await h.coordinator();
      await coord.createGroup("alpha");
      const error = await coord.createGroup("alpha").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "GROUP_EXISTS")).toBe(true);
    });

    it(".deleteGroup(group) removes an empty group", async () => {
      const coord = await h.coordinator();
      await coord.createGroup("alpha");
      await coord.deleteGroup("alpha");
      expect(await coord.groups()).toEqual([]);
      await coord.createGroup("alpha");
      expect(await coord.groups()).toEqual(["alpha"]);
    });

    it(".deleteGroup(group) rejects with GROUP_NOT_FOUND for a missing group", async () => {
      const coord = await h.coordinator();
      const error = await coord.deleteGroup("nope").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "GROUP_NOT_FOUND")).toBe(true);
    });

    it(".deleteGroup(group) rejects with GROUP_NOT_EMPTY and keeps the group and its members", async () => {
      const coord = await h.coordinator();
      await coord.join("alpha", { createGroup: true });
      const error = await coord.deleteGroup("alpha").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "GROUP_NOT_EMPTY")).toBe(true);
      expect(await coord.groups()).toEqual(["alpha"]);
      expect((await coord.members("alpha")).map((m) => m.id)).toEqual([coord.memberId]);
    });

    it(".groups() does not list the groups behind elections and locks", async () => {
      const coord = await h.coordinator();
      await coord.createGroup("visible");
      const leadership = await coord.election("boss").campaign();
      const lock = await coord.lock("door").acquire();
      expect(await coord.groups()).toEqual(["visible"]);
      await leadership.resign();
      await lock.resign();
    });

    it("namespaces isolate groups and members", async () => {
      const a = await h.coordinator();
      await a.join("shared", { createGroup: true });
      h.freshNamespace();
      const b = await h.coordinator();
      expect(await b.groups()).toEqual([]);
      await b.join("shared", { createGroup: true });
      expect((await b.members("shared")).map((m) => m.id)).toEqual([b.memberId]);
      expect((await a.members("shared")).map((m) => m.id)).toEqual([a.memberId]);
    });

    it("groups created by one coordinator are seen by another", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator(randomId("m"));
      await a.createGroup("alpha");
      expect(await b.groups()).toContain("alpha");
    });
  });
}
