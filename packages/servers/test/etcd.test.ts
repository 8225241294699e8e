import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
import { startEtcd } from "../src/index.js";
import { waitUntil } from "./helpers.js";

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

  it("stats() counts established client connections and keys", async () => {
    await using server = await startEtcd();
    const before = await server.stats();
    expect(before).toMatchObject({
      connections: 0,
      objects: 0,
      detail: { keys: 0, leases: 0, watchers: 0, nodes: 1, unreachable: 0, leader: 1 },
    });
    // grpc-js shares one TCP connection between clients of the same hosts unless told otherwise, and with a
    // pool of its own each gRPC service (KV, Lease, Watch) of a client gets a connection of its own
    const clients = [1, 2].map(
      () => new Etcd3({ hosts: [...server.hosts], grpcOptions: { "grpc.use_local_subchannel_pool": 1 } }),
    );
    try {
      const [first, second] = clients as [Etcd3, Etcd3];
      await first.put("stats/a").value("1");
      await first.put("stats/b").value("2");
      await second.put("stats/a").value("3"); // the same key again
      expect(await server.stats()).toMatchObject({ connections: 2, objects: 2, detail: { keys: 2 } });

      const lease = second.lease(10);
      await lease.put("stats/leased").value("4");
      const watcher = await first.watch().key("stats/a").create();
      const during = await server.stats();
      expect(during.connections).toBe(4); // + second's Lease, + first's Watch
      expect(during.objects).toBe(3);
      expect(during.detail).toMatchObject({ keys: 3, leases: 1, watchers: 1, watchStreams: 1 });
      expect(during.detail.grpcStreams).toBeGreaterThanOrEqual(1); // the watch stream (+ the lease keep-alive)
      await watcher.cancel();
      await lease.revoke();
      expect(await server.stats()).toMatchObject({ objects: 2, detail: { leases: 0, watchers: 0 } });
    } finally {
      for (const client of clients) client.close();
    }
    await waitUntil("the connections closed", async () => (await server.stats()).connections === 0);
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
      expect(await server.stats()).toMatchObject({
        objects: 2,
        detail: { keys: 2, nodes: 3, unreachable: 1, leader: next.id },
      });

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
