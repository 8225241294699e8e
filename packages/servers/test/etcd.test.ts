import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
import { startEtcd } from "../src/index.js";

describe("startEtcd", () => {
  it("serves the etcd3 client and keeps its data across restart()", async () => {
    await using server = await startEtcd();
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    expect(server.url).toBe(`etcd://127.0.0.1:${node.port}`);
    expect(server.hosts).toEqual([`http://127.0.0.1:${node.port}`]);
    expect(server.connectionString).toBe(`http://127.0.0.1:${node.port}`);
    expect(await server.leader()).toBe(node);
    const client = new Etcd3({ hosts: [...server.hosts] });
    try {
      await client.put("greeting").value("hello");
      expect(await client.get("greeting").string()).toBe("hello");
      await node.restart();
      expect(await client.get("greeting").string()).toBe("hello");
    } finally {
      client.close();
    }
  });

  it("a 3-member cluster keeps serving after its leader is killed, and the member rejoins", async () => {
    await using server = await startEtcd({ nodes: 3 });
    expect(server.nodes).toHaveLength(3);
    const endpoints = server.nodes.map((n) => `127.0.0.1:${n.port}`);
    expect(server.url).toBe(`etcd://${endpoints.join(",")}`);
    expect(server.connectionString.split(",")).toEqual(server.hosts);
    expect(new Set(server.nodes.flatMap((n) => Object.values(n.ports))).size).toBe(6);

    const client = new Etcd3({ hosts: [...server.hosts] });
    try {
      await client.put("before").value("1");
      const leader = await server.leader();
      await leader.kill();
      expect(leader.running).toBe(false);
      const next = await server.leader();
      expect(next).not.toBe(leader);
      await client.put("after").value("2");
      expect(await client.get("before").string()).toBe("1");

      await leader.start();
      const rejoined = new Etcd3({ hosts: `http://127.0.0.1:${leader.port}` });
      try {
        expect(await rejoined.get("after").string()).toBe("2");
      } finally {
        rejoined.close();
      }
    } finally {
      client.close();
    }
  });
});
