import { RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { type Harness, randomId } from "../harness.js";

/** Membership: join, leave, members, member, metadata, seq. */
export function membershipSuite(h: Harness): void {
  describe("membership", () => {
    it(".join(group) returns the member record and .members(group) lists it", async () => {
      const coord = await h.coordinator();
      await coord.createGroup("compute");
      const before = Date.now();
      const member = await coord.join("compute", { metadata: { cpus: 64, zone: "a" } });
      expect(member.id).toBe(coord.memberId);
      expect(member.group).toBe("compute");
      expect(member.metadata).toEqual({ cpus: 64, zone: "a" });
      expect(typeof member.seq).toBe("bigint");
      expect(member.joinedAt).toBeInstanceOf(Date);
      expect(member.updatedAt).toBeInstanceOf(Date);
      expect(Math.abs(member.joinedAt.getTime() - before)).toBeLessThan(60_000);
      const members = await coord.members("compute");
      expect(members).toHaveLength(1);
      expect(members[0]?.id).toBe(coord.memberId);
      expect(members[0]?.metadata).toEqual({ cpus: 64, zone: "a" });
      expect(members[0]?.seq).toBe(member.seq);
    });

    it(".join(group) rejects with GROUP_NOT_FOUND for a missing group, unless createGroup", async () => {
      const coord = await h.coordinator();
      const error = await coord.join("missing").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "GROUP_NOT_FOUND")).toBe(true);
      expect(await coord.groups()).toEqual([]);
      await coord.join("missing", { createGroup: true });
      expect((await coord.members("missing")).map((m) => m.id)).toEqual([coord.memberId]);
    });

    it(".join(group) twice rejects with MEMBER_EXISTS", async () => {
      const coord = await h.coordinator();
      await coord.join("compute", { createGroup: true });
      const error = await coord.join("compute").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "MEMBER_EXISTS")).toBe(true);
    });

    it(".join(group) by a second coordinator with the same member id rejects with MEMBER_EXISTS", async () => {
      const id = randomId("dup");
      const a = await h.coordinator(id);
      const b = await h.coordinator(id);
      await a.join("compute", { createGroup: true, metadata: { owner: "a" } });
      const error = await b.join("compute", { metadata: { owner: "b" } }).catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "MEMBER_EXISTS")).toBe(true);
      expect((await b.members("compute"))[0]?.metadata).toEqual({ owner: "a" });
    });

    it(".leave(group) removes the member; again rejects with MEMBER_NOT_JOINED", async () => {
      const coord = await h.coordinator();
      await coord.join("compute", { createGroup: true });
      await coord.leave("compute");
      expect(await coord.members("compute")).toEqual([]);
      const error = await coord.leave("compute").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "MEMBER_NOT_JOINED")).toBe(true);
    });

    it(".leave(group) cannot remove another coordinator's member", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      await a.join("compute", { createGroup: true });
      const error = await b.leave("compute").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "MEMBER_NOT_JOINED")).toBe(true);
      expect((await b.members("compute")).map((m) => m.id)).toEqual([a.memberId]);
    });

    it(".members(group) rejects with GROUP_NOT_FOUND for a missing group", async () => {
      const coord = await h.coordinator();
      const error = await coord.members("missing").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "GROUP_NOT_FOUND")).toBe(true);
    });

    it(".member(group, id) returns one member; MEMBER_NOT_FOUND for an absent one", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      await a.join("compute", { createGroup: true, metadata: { n: 1 } });
      expect((await b.member("compute", a.memberId)).metadata).toEqual({ n: 1 });
      const error = await b.member("compute", "nobody").catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "MEMBER_NOT_FOUND")).toBe(true);
    });

    it(".updateMetadata(group, metadata) replaces the metadata and keeps seq", async () => {
      const a = await h.coordinator();
      const b = await h.coordinator();
      const joined = await a.join("compute", { createGroup: true, metadata: { load: 1 } });
      await new Promise((r) => setTimeout(r, 20));
      const updated = await a.updateMetadata("compute", { load: 2, tags: ["x"] });
      expect(updated.metadata).toEqual({ load: 2, tags: ["x"] });
      expect(updated.seq).toBe(joined.seq);
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(joined.joinedAt.getTime());
      const seen = await b.member("compute", a.memberId);
      expect(seen.metadata).toEqual({ load: 2, tags: ["x"] });
      expect(seen.seq).toBe(joined.seq);
    });

    it(".updateMetadata(group, metadata) rejects with MEMBER_NOT_JOINED when not a member", async () => {
      const coord = await h.coordinator();
      await coord.createGroup("compute");
      const error = await coord.updateMetadata("compute", { x: 1 }).catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "MEMBER_NOT_JOINED")).toBe(true);
      expect(await coord.members("compute")).toEqual([]);
    });

    it("metadata round-trips JSON faithfully (unicode, nesting, numbers, empty)", async () => {
      const coord = await h.coordinator();
      const metadata = {
        name: "nœud-17 ✓ 日本 🚀",
        nested: { deep: { list: [1, 2.5, -3, 0, true, false, null, "s"] } },
        big: 2 ** 52,
        empty: {},
        quote: "a\"b'c\\d\n",
      };
      await coord.join("compute", { createGroup: true, metadata });
      expect((await coord.member("compute", coord.memberId)).metadata).toEqual(metadata);
      await coord.updateMetadata("compute", {});
      expect((await coord.member("compute", coord.memberId)).metadata).toEqual({});
    });

    it("seq grows in the order joins become visible, across coordinators", async () => {
      const coords = await Promise.all([1, 2, 3, 4].map(() => h.coordinator()));
      await coords[0]?.createGroup("compute");
      const seqs: bigint[] = [];
      for (const coord of coords) seqs.push((await coord.join("compute")).seq);
      for (let i = 1; i < seqs.length; i++) expect((seqs[i] as bigint) > (seqs[i - 1] as bigint)).toBe(true);
      const listed = await coords[0]?.members("compute");
      expect(listed?.map((m) => m.id)).toEqual(coords.map((c) => c.memberId));
    });

    it("a member that leaves and joins again gets a larger seq", async () => {
      const coord = await h.coordinator();
      const first = await coord.join("compute", { createGroup: true });
      await coord.leave("compute");
      const second = await coord.join("compute");
      expect(second.seq > first.seq).toBe(true);
    });
  });
}
