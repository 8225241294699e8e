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
});
