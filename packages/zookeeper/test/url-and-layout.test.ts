import { connect, RollcallError } from "@rollcall/core";
import { startZooKeeper, type ZooKeeperServer } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/zookeeper";
import { fresh, rawClient } from "./helpers.js";

let server: ZooKeeperServer;
beforeAll(async () => {
  server = await startZooKeeper({ nodes: 1 });
}, 60_000);
afterAll(() => server?.close());

describe("zookeeper:// URL", () => {
  it("uses the seed's defaults: namespace /servicegroups, sessionTimeout 4000", async () => {
    const memberId = fresh("compute");
    const group = fresh("g");
    await using coord = await connect(server.url, { memberId });
    expect(coord.backend).toBe("zookeeper");
    expect(coord.sessionTimeout).toBe(4000);
    await coord.join(group, { createGroup: true, metadata: { cpus: 64 } });
    const raw = await rawClient(server.connectionString);
    try {
      const got = await raw.call("a_get", `/servicegroups/${group}/${memberId}`, false);
      expect(got.rc).toBe(0);
      const [stat, data] = got.value as [{ ephemeralOwner: string; czxid: number }, Buffer];
      expect(JSON.parse(data.toString("utf8"))).toEqual({ cpus: 64 });
      expect(stat.ephemeralOwner).not.toBe("0");
      const [member] = await coord.members(group);
      expect(member?.seq).toBe(BigInt(stat.czxid));
    } finally {
      raw.close();
      await coord.leave(group);
      await coord.deleteGroup(group);
    }
  });

  it("takes the namespace from the path and the session timeout from the query, as negotiated", async () => {
    const namespace = `${fresh("a")}/${fresh("b")}`;
    // The server grants 1000–60000 ms (minSessionTimeout = 2 × tickTime).
    await using short = await connect(`${server.url}/${namespace}?sessionTimeout=400`, {
      memberId: fresh("m"),
    });
    expect(short.sessionTimeout).toBe(1000);
    await using long = await connect(`${server.url}/${namespace}?sessionTimeout=6000&retryInterval=200`, {
      memberId: fresh("m"),
    });
    expect(long.sessionTimeout).toBe(6000);
    await long.createGroup("compute");
    expect(await short.groups()).toEqual(["compute"]);
    const raw = await rawClient(server.connectionString);
    try {
      const listed = await raw.call("a_get_children", `/${namespace}`, false);
      expect((listed.value[0] as string[]).sort()).toEqual([".journal", "compute"]);
    } finally {
      raw.close();
    }
  });

  it("rejects a bad journalRetention, an unknown option and ZooKeeper's own /zookeeper tree", async () => {
    for (const url of [
      `${server.url}/ns?journalRetention=5`,
      `${server.url}/ns?chroot=x`,
      `${server.url}/zookeeper/quota`,
    ]) {
      const error = await connect(url, { memberId: "m" }).catch((e: unknown) => e);
      expect(RollcallError.hasCode(error, "INVALID_ARGUMENT"), url).toBe(true);
    }
  });

  it("names the servers, never the password, when it cannot connect", async () => {
    const error = await connect("zookeeper://alice:s3cret@127.0.0.1:1/ns?connectTimeout=500", {
      memberId: "m",
    }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect(String((error as Error).message)).toContain("127.0.0.1:1");
    expect(String((error as Error).message)).not.toContain("s3cret");
  });
});
