import { connect } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedis } from "../src/index.js";
import { exists, waitUntil } from "./helpers.js";

describe("startRedis", () => {
  let server: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.connectionString, { maxRetriesPerRequest: 20, retryStrategy: () => 50 });
  });

  afterAll(async () => {
    client.disconnect();
    await server.close();
  });

  it("serves a real client on a loopback port", async () => {
    const node = server.nodes[0];
    expect(server.kind).toBe("redis");
    expect(server.nodes).toHaveLength(1);
    expect(server.url).toBe(`redis://127.0.0.1:${node?.port}`);
    expect(server.connectionString).toBe(server.url);
    expect(node?.running).toBe(true);
    expect(exists(node?.logFile ?? "")).toBe(true);
    await client.set("greeting", "hello");
    expect(await client.get("greeting")).toBe("hello");
  });

  it("keeps its data, port and pid bookkeeping across restart()", async () => {
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    const oldPid = node.pid;
    await client.set("survivor", "yes");
    await node.restart();
    expect(node.pid).not.toBe(oldPid);
    expect(node.running).toBe(true);
    expect(await client.get("survivor")).toBe("yes");
  });

  it("comes back with start() after kill()", async () => {
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    await client.set("after-kill", "1");
    const pid = node.pid;
    await node.kill();
    expect(node.running).toBe(false);
    expect(node.pid).toBe(pid);
    await node.start();
    expect(await client.get("after-kill")).toBe("1");
  });

  it("stats() counts connected clients and the keys of every database", async () => {
    const before = await server.stats();
    expect(before.detail).toMatchObject({ nodes: 1, unreachable: 0 });
    expect(before.connections).toBe(1); // the suite's client
    const clients = [new Redis(server.connectionString), new Redis(`${server.connectionString}/3`)];
    try {
      const [db0, db3] = clients as [Redis, Redis];
      await db0.set("stats:a", "1");
      await db0.set("stats:b", "2", "EX", 60);
      await db3.set("stats:a", "3");
      const during = await server.stats();
      expect(during.connections).toBe(before.connections + 2);
      expect(during.objects).toBe(before.objects + 3);
      expect(during.detail["keys:db3"]).toBe(1);
      expect(during.detail.expires).toBe((before.detail.expires ?? 0) + 1);
      await db0.del("stats:a", "stats:b");
      await db3.del("stats:a");
    } finally {
      for (const client of clients) client.disconnect();
    }
    await waitUntil(
      "the clients gone",
      async () => (await server.stats()).connections === before.connections,
    );
    expect((await server.stats()).objects).toBe(before.objects);
  });

  it("stats() skips a node that does not answer, within its 2 s deadline", async () => {
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    node.pause(); // known to be paused: skipped at once
    try {
      expect(await server.stats()).toMatchObject({ connections: 0, objects: 0, detail: { unreachable: 1 } });
    } finally {
      node.resume();
    }
    process.kill(node.pid, "SIGSTOP"); // stopped behind the package's back: the probe times out
    try {
      const started = Date.now();
      expect((await server.stats()).detail.unreachable).toBe(1);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      process.kill(node.pid, "SIGCONT");
    }
    expect((await server.stats()).detail.unreachable).toBe(0);
  });

  it("pause() freezes the server and resume() thaws it", async () => {
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    const probe = new Redis(server.connectionString, { commandTimeout: 300, maxRetriesPerRequest: 0 });
    try {
      expect(await probe.ping()).toBe("PONG");
      node.pause();
      expect(node.paused).toBe(true);
      await expect(probe.ping()).rejects.toThrow(/timed out/i);
      node.resume();
      expect(node.paused).toBe(false);
      expect(await client.ping()).toBe("PONG");
    } finally {
      node.resume();
      probe.disconnect();
    }
  });
});

/** Send one inline command without authenticating; resolve with the first reply line. */
function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" }, () => socket.write(command));
    socket.setEncoding("utf8");
    socket.once("data", (line: string) => {
      socket.destroy();
      resolve(line);
    });
    socket.once("error", reject);
  });
}

describe("startRedis with authentication", () => {
  it("requires the password and accepts ACL users", async () => {
    await using server = await startRedis({
      password: "s3cret/:@",
      aclUsers: [{ name: "alice", password: "wonder" }],
    });
    const port = server.nodes[0]?.port;
    expect(server.password).toBe("s3cret/:@");
    expect(server.url).toBe(`redis://:${encodeURIComponent("s3cret/:@")}@127.0.0.1:${port}`);
    const byUrl = new Redis(server.url, { maxRetriesPerRequest: 0 });
    const alice = new Redis({ port, host: "127.0.0.1", username: "alice", password: "wonder" });
    try {
      expect(await rawCommand(port ?? 0, "GET x\r\n")).toMatch(/^-NOAUTH/);
      await byUrl.set("x", "1");
      expect(await alice.get("x")).toBe("1");
      expect(await alice.call("ACL", "WHOAMI")).toBe("alice");
      // stats() authenticates as the default user
      expect(await server.stats()).toMatchObject({ connections: 2, objects: 1 });
    } finally {
      byUrl.disconnect();
      alice.disconnect();
    }
  });
});
