import { describe, expect, it } from "vitest";
import ZooKeeper from "zookeeper";
import { startZooKeeper, zookeeperFourLetterWord } from "../src/index.js";
import { waitUntil, zkConnect, zkGetText, zkRetry } from "./helpers.js";

const { ZOO_EPHEMERAL, ZOO_PERSISTENT } = ZooKeeper.constants;

describe("startZooKeeper", () => {
  it("serves the zookeeper client with 1 s sessions and keeps its data across restart()", async () => {
    await using server = await startZooKeeper();
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    expect(server.url).toBe(`zookeeper://127.0.0.1:${node.port}`);
    expect(server.connectionString).toBe(`127.0.0.1:${node.port}`);
    expect(await server.mode(node)).toBe("standalone");
    expect(await server.leader()).toBe(node);
    expect(await zookeeperFourLetterWord(node.port, "ruok")).toBe("imok");

    const client = await zkConnect(server.connectionString, 1000);
    try {
      expect(client.timeout).toBe(1000);
      await client.create("/kept", "before", ZOO_PERSISTENT);
    } finally {
      client.close();
    }
    await node.restart();
    const again = await zkConnect(server.connectionString);
    try {
      expect(await zkGetText(again, "/kept")).toBe("before");
    } finally {
      again.close();
    }
  });

  it("stats() counts client connections, znodes, ephemerals and watches from mntr", async () => {
    await using server = await startZooKeeper();
    const before = await server.stats();
    expect(before).toMatchObject({ connections: 0, detail: { nodes: 1, unreachable: 0, leader: 1 } });
    expect(before.objects).toBe(before.detail.znodes);
    const clients = [await zkConnect(server.connectionString), await zkConnect(server.connectionString)];
    try {
      const [first, second] = clients as [ZooKeeper, ZooKeeper];
      await first.create("/stats", "", ZOO_PERSISTENT);
      await first.create("/stats/a", "", ZOO_PERSISTENT);
      await second.create("/stats/b", "", ZOO_EPHEMERAL);
      await second.exists("/stats/a", true); // a watch
      const during = await server.stats();
      expect(during.connections).toBe(2);
      expect(during.objects).toBe(before.objects + 3);
      expect(during.detail.ephemerals).toBe((before.detail.ephemerals ?? 0) + 1);
      expect(during.detail.watches).toBe((before.detail.watches ?? 0) + 1);
    } finally {
      for (const client of clients) client.close();
    }
    // the ephemeral goes with its session, the connections with the clients
    await waitUntil("connections and the ephemeral gone", async () => {
      const after = await server.stats();
      return after.connections === 0 && after.objects === before.objects + 2;
    });

    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    node.pause();
    try {
      expect(await server.stats()).toMatchObject({ connections: 0, objects: 0, detail: { unreachable: 1 } });
    } finally {
      node.resume();
    }
  });

  it("a 3-node ensemble keeps serving after its leader is killed, and the node rejoins", async () => {
    await using server = await startZooKeeper({ nodes: 3 });
    expect(server.nodes).toHaveLength(3);
    expect(server.connectionString).toBe(server.nodes.map((n) => `127.0.0.1:${n.port}`).join(","));
    expect(server.url).toBe(`zookeeper://${server.connectionString}`);
    expect(new Set(server.nodes.flatMap((n) => Object.values(n.ports))).size).toBe(9);
    const modes = await Promise.all(server.nodes.map((n) => server.mode(n)));
    expect(modes.filter((m) => m === "leader")).toHaveLength(1);
    expect(modes.filter((m) => m === "follower")).toHaveLength(2);

    const client = await zkConnect(server.connectionString);
    try {
      await client.create("/before", "1", ZOO_PERSISTENT);
      const leader = await server.leader();
      const znodes = (await server.stats()).objects;
      await leader.kill();
      const next = await server.leader();
      expect(next).not.toBe(leader);
      // The client may have been on the dead node: it reconnects to a live one.
      await zkRetry(() => client.create("/after", "2", ZOO_PERSISTENT));
      expect(await zkGetText(client, "/before")).toBe("1");
      // The dead node is skipped; the client's one connection is on a live node; znodes from the new leader
      // (which may apply the commit a moment after the follower that answered the client).
      await waitUntil(
        "the new leader counts /after",
        async () => (await server.stats()).objects === znodes + 1,
      );
      expect(await server.stats()).toMatchObject({
        connections: 1,
        objects: znodes + 1,
        detail: { nodes: 3, unreachable: 1, leader: next.id },
      });

      await leader.start();
      expect(await server.mode(leader)).toBe("follower");
      const direct = await zkConnect(`127.0.0.1:${leader.port}`);
      try {
        expect(await zkGetText(direct, "/after")).toBe("2");
      } finally {
        direct.close();
      }
    } finally {
      client.close();
    }
  });
});
