import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNetworkLab,
  isAlive,
  type NetworkLab,
  networkLabUnavailable,
  startEtcd,
  startRedis,
  startZooKeeper,
  zookeeperFourLetterWord,
} from "../src/index.js";
import { httpCall } from "../src/probes.js";
import { waitUntil, zkConnect, zkGetText, zkRetry } from "./helpers.js";

const reason = await networkLabUnavailable();
if (reason !== undefined) console.warn(`lab cluster tests skipped: ${reason}`);

/** Whether a process runs in a lab host ("lab": it sees the lab0 interface) or in the root namespace. */
function netnsOf(pid: number): string {
  return readFileSync(`/proc/${pid}/net/dev`, "utf8").includes("lab0") ? "lab" : "root";
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");

describe("partition() outside a lab", () => {
  it("rejects with a clear error", async () => {
    await using server = await startRedis();
    const node = server.nodes[0]!;
    expect(node.labHost).toBeUndefined();
    expect(node.partitioned).toBe(false);
    await expect(node.partition()).rejects.toThrow(/not run in a network lab/);
    await expect(node.heal()).rejects.toThrow(/not run in a network lab/);
  });
});

describe.skipIf(reason !== undefined)("clusters in a network lab", () => {
  let lab: NetworkLab;

  beforeAll(async () => {
    lab = await createNetworkLab();
  });
  afterAll(async () => {
    await lab?.close();
  });

  it("zookeeper: a partitioned node leaves the quorum, the other two serve writes, it catches up after heal", async () => {
    await using server = await startZooKeeper({ nodes: 3, lab });
    const addresses = server.nodes.map((node) => node.host);
    expect(new Set(addresses).size).toBe(3);
    for (const node of server.nodes) {
      expect(node.labHost?.address).toBe(node.host);
      expect(netnsOf(node.pid)).toBe("lab");
      expect(readFileSync(`/proc/${node.pid}/comm`, "utf8").trim()).toBe("java");
    }
    expect(server.url).toBe(`zookeeper://${server.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`);

    const victim = await server.leader();
    const survivors = server.nodes.filter((node) => node !== victim);
    await victim.partition();
    expect(victim.partitioned).toBe(true);
    expect(victim.running).toBe(true);
    await waitUntil(
      "a new leader among the survivors",
      async () => {
        const modes = await Promise.all(survivors.map((node) => server.mode(node)));
        return modes.includes("leader") && modes.includes("follower");
      },
      30_000,
    );
    const mntr = await zookeeperFourLetterWord(survivors[0]!.port, "mntr", 2000, survivors[0]!.host);
    expect(mntr).toMatch(/zk_server_state\t(leader|follower)/);

    const client = await zkConnect(survivors.map((n) => `${n.host}:${n.port}`).join(","));
    try {
      await zkRetry(() => client.create("/during-partition", "written", 0));
    } finally {
      await client.close();
    }

    await victim.heal();
    expect(victim.partitioned).toBe(false);
    await waitUntil(
      "the healed node back as follower",
      async () => (await server.mode(victim)) === "follower",
      30_000,
    );
    const reader = await zkConnect(`${victim.host}:${victim.port}`);
    try {
      expect(await zkRetry(() => zkGetText(reader, "/during-partition"))).toBe("written");
    } finally {
      await reader.close();
    }

    // process control through `ip netns exec`: kill, start, pause, resume
    const oldPid = victim.pid;
    await victim.kill();
    expect(isAlive(oldPid)).toBe(false);
    await victim.start();
    expect(netnsOf(victim.pid)).toBe("lab");
    victim.pause();
    expect(await server.mode(victim)).toBeUndefined();
    victim.resume();
    await waitUntil("serving after resume", async () => (await server.mode(victim)) !== undefined, 30_000);
  });

  it("etcd: a partitioned member leaves the quorum, the other two serve writes, it catches up after heal", async () => {
    await using server = await startEtcd({ nodes: 3, lab });
    expect(server.hosts).toEqual(server.nodes.map((n) => `http://${n.host}:${n.port}`));
    for (const node of server.nodes) expect(netnsOf(node.pid)).toBe("lab");

    const victim = await server.leader();
    const survivors = server.nodes.filter((node) => node !== victim);
    await victim.partition();
    const through = survivors[0]!;
    await waitUntil(
      "a write through a survivor",
      async () => {
        try {
          const response = await httpCall(
            { host: through.host, port: through.port },
            "POST",
            "/v3/kv/put",
            JSON.stringify({ key: b64("during-partition"), value: b64("written") }),
            3000,
          );
          return response.status === 200;
        } catch {
          return false;
        }
      },
      30_000,
    );
    const leader = await server.leader(15_000);
    expect(leader).not.toBe(victim);

    await victim.heal();
    await waitUntil(
      "the healed member serving the write",
      async () => {
        try {
          const response = await httpCall(
            { host: victim.host, port: victim.port },
            "POST",
            "/v3/kv/range",
            JSON.stringify({ key: b64("during-partition") }),
            3000,
          );
          const body = JSON.parse(response.body) as { kvs?: { value: string }[] };
          return body.kvs?.[0]?.value === b64("written");
        } catch {
          return false;
        }
      },
      30_000,
    );
  });
});
