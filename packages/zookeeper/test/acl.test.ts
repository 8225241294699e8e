import { createHash } from "node:crypto";
import { connect, RollcallError } from "@rollcall/core";
import { startZooKeeper, type ZooKeeperServer } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/zookeeper";
import { fresh, rawClient, ZNOAUTH } from "./helpers.js";

let server: ZooKeeperServer;
beforeAll(async () => {
  server = await startZooKeeper({ nodes: 1 });
}, 60_000);
afterAll(() => server?.close());

function withUser(user: string, password: string, namespace: string): string {
  return `${server.url.replace("zookeeper://", `zookeeper://${user}:${password}@`)}/${namespace}`;
}

describe("digest auth from zookeeper://user:secret@…", () => {
  it("member znodes cannot be deleted or overwritten by another ZooKeeper user, or by anyone", async () => {
    const namespace = fresh("acl");
    await using alice = await connect(withUser("alice", "s3cret", namespace), { memberId: "compute-1" });
    await alice.join("compute", { createGroup: true, metadata: { cpus: 8 } });
    const member = `/${namespace}/compute/compute-1`;

    const bob = await rawClient(server.connectionString, "bob:other");
    const anonymous = await rawClient(server.connectionString);
    const impostor = await rawClient(server.connectionString, "alice:wrong-password");
    try {
      for (const [who, client] of [
        ["bob", bob],
        ["anonymous", anonymous],
        ["alice with a wrong password", impostor],
      ] as const) {
        expect((await client.call("a_delete_", member, -1)).rc, `${who} deletes`).toBe(ZNOAUTH);
        expect((await client.call("a_set", member, Buffer.from("{}"), -1)).rc, `${who} overwrites`).toBe(
          ZNOAUTH,
        );
        expect(
          (await client.call("a_set_acl", member, -1, [{ perms: 31, scheme: "world", auth: "anyone" }])).rc,
        ).toBe(ZNOAUTH);
        expect((await client.call("a_create", `/${namespace}/compute/fake`, "x", 1)).rc, `${who} joins`).toBe(
          ZNOAUTH,
        );
        expect(
          (await client.call("a_delete_", `/${namespace}/compute`, -1)).rc,
          `${who} deletes the group`,
        ).toBe(ZNOAUTH);
        // Everybody may still read: list and watch the group.
        const got = await client.call("a_get", member, false);
        expect(got.rc).toBe(0);
        expect(JSON.parse((got.value[1] as Buffer).toString("utf8"))).toEqual({ cpus: 8 });
      }
      expect((await alice.members("compute")).map((m) => m.metadata)).toEqual([{ cpus: 8 }]);
    } finally {
      bob.close();
      anonymous.close();
      impostor.close();
    }
  });

  it("another user reads the group through rollcall but cannot join it; errors never show the password", async () => {
    const namespace = fresh("acl");
    await using alice = await connect(withUser("alice", "s3cret", namespace), { memberId: "a" });
    await alice.join("compute", { createGroup: true });
    await using bob = await connect(withUser("bob", "hunter2", namespace), { memberId: "b" });
    expect((await bob.members("compute")).map((m) => m.id)).toEqual(["a"]);
    const error = await bob.join("compute").catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect(String((error as Error).message)).toMatch(/NOAUTH/);
    expect(String((error as Error).message)).not.toContain("hunter2");
    // The same credentials in another process share the group, join, update and leave it.
    await using alice2 = await connect(withUser("alice", "s3cret", namespace), { memberId: "a2" });
    await alice2.join("compute", { metadata: { n: 1 } });
    await alice2.updateMetadata("compute", { n: 2 });
    await alice2.leave("compute");
    await alice.leave("compute");
    await alice.deleteGroup("compute");
  });

  it("another identity reads only membership (data and children), and nothing it reads holds the password", async () => {
    const namespace = fresh("acl");
    const password = "only-alice-knows-this";
    await using alice = await connect(withUser("alice", password, namespace), { memberId: "a" });
    await alice.join("compute", { createGroup: true, metadata: { cpus: 8 } });
    await alice.updateMetadata("compute", { cpus: 16 });
    const leadership = await alice.election("scheduler").campaign();
    const lock = await alice.lock("resource").acquire();
    const aliceId = `alice:${createHash("sha1").update(`alice:${password}`).digest("base64")}`;
    const bob = await rawClient(server.connectionString, "bob:other");
    try {
      const seen: string[] = [];
      const walk = async (path: string): Promise<void> => {
        const acl = await bob.call("a_get_acl", path);
        expect(acl.rc, `bob reads the ACL of ${path}`).toBe(0);
        const entries = (acl.value[0] as { perms: number; scheme: string; auth: string }[]).map(
          (e) => `${e.scheme}:${e.auth}=${e.perms}`,
        );
        expect(entries.join(" "), path).not.toContain(aliceId);
        if (/\/\.journal\/[^/]+\/[LU]\./.test(path)) {
          // Journal records keep the binding's open ACL (one request less per record); they are guarded by
          // their journal's ACL (deleting one needs DELETE there) and by their data version (a record
          // changed after it was written is not trusted).
          expect((await bob.call("a_delete_", path, -1)).rc, `bob deletes ${path}`).toBe(ZNOAUTH);
        } else {
          // All permissions for alice's digest identity, only READ for everybody else — and the server
          // masks alice's password hash from other identities (it shows "alice:x").
          expect(entries.sort(), path).toEqual(["digest:alice:x=31", "world:anyone=1"]);
        }
        const data = await bob.call("a_get", path, false);
        expect(data.rc, `bob reads ${path}`).toBe(0);
        const text = data.value[1] instanceof Buffer ? data.value[1].toString("utf8") : "";
        seen.push(`${path} ${text}`);
        expect(text, path).not.toContain(password);
        const stat = data.value[0] as { ephemeralOwner?: unknown; ephemeral_owner?: unknown } | undefined;
        const children = await bob.call("a_get_children", path, false);
        expect(children.rc).toBe(0);
        if ((children.value[0] as string[]).length === 0 && stat !== undefined) return;
        expect(
          (await bob.call("a_create", `${path}/bob-was-here`, "x", 0)).rc,
          `bob creates under ${path}`,
        ).toBe(ZNOAUTH);
        for (const child of children.value[0] as string[]) await walk(`${path}/${child}`);
      };
      await walk(`/${namespace}`);
      expect(seen.length).toBeGreaterThan(4);
      expect(seen.join("\n")).toMatch(/_election.scheduler/);
      expect(seen.join("\n")).toMatch(/_lock.resource/);
      expect(seen.join("\n")).toMatch(/\.journal\/compute\/U/);
      expect(seen.join("\n")).toContain("compute");
    } finally {
      bob.close();
      await leadership.resign();
      await lock.resign();
    }
  });
});
