import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNetworkLab,
  type LabHost,
  type NetworkLab,
  networkLabUnavailable,
  startEtcd,
  startMariaDB,
  startPostgres,
  startRedis,
  startZooKeeper,
} from "../src/index.js";
import { runIn } from "./lab-helpers.js";

const reason = await networkLabUnavailable();
if (reason !== undefined) console.warn(`host option tests skipped: ${reason}`);

/** Run a client script inside the lab host (modules resolve from this package) and return its stdout. */
async function clientIn(host: LabHost, script: string): Promise<string> {
  const result = await runIn(host, script, 20_000);
  if (result.code !== 0) throw new Error(`client failed (${result.code}): ${result.stderr}`);
  return result.stdout.trim();
}

describe("the host option", () => {
  it("refuses names and the wildcard address", async () => {
    await expect(startRedis({ host: "0.0.0.0" })).rejects.toThrow(/specific IPv4/);
    await expect(startRedis({ host: "localhost" })).rejects.toThrow(/specific IPv4/);
  });
});

describe.skipIf(reason !== undefined)("servers on a lab gateway, used from a lab host", () => {
  let lab: NetworkLab;
  let client: LabHost;

  beforeAll(async () => {
    lab = await createNetworkLab();
    client = await lab.addHost("client");
  });
  afterAll(async () => {
    await lab?.close();
  });

  it("zookeeper", async () => {
    await using server = await startZooKeeper({ host: lab.gateway });
    const node = server.nodes[0]!;
    expect(node.host).toBe(lab.gateway);
    expect(server.url).toBe(`zookeeper://${lab.gateway}:${node.port}`);
    expect(server.connectionString).toBe(`${lab.gateway}:${node.port}`);
    expect(await server.mode(node)).toBe("standalone");
    const answer = await clientIn(
      client,
      `const s = require("net").connect(${node.port}, ${JSON.stringify(lab.gateway)}, () => s.write("ruok"));
       s.on("data", (d) => process.stdout.write(d));`,
    );
    expect(answer).toBe("imok");
  });

  it("etcd", async () => {
    await using server = await startEtcd({ host: lab.gateway });
    const node = server.nodes[0]!;
    expect(server.url).toBe(`etcd://${lab.gateway}:${node.port}`);
    expect(server.hosts).toEqual([`http://${lab.gateway}:${node.port}`]);
    const answer = await clientIn(
      client,
      `require("http").get(${JSON.stringify(`${server.hosts[0]}/health`)}, (r) => r.pipe(process.stdout));`,
    );
    expect(JSON.parse(answer)).toMatchObject({ health: "true" });
  });

  it("redis", async () => {
    await using server = await startRedis({ host: lab.gateway, password: "s3cret" });
    expect(server.url).toBe(`redis://:s3cret@${lab.gateway}:${server.nodes[0]!.port}`);
    const answer = await clientIn(
      client,
      `const R = require("ioredis"); const r = new R(${JSON.stringify(server.url)});
       r.ping().then((p) => { console.log(p); r.disconnect(); });`,
    );
    expect(answer).toBe("PONG");
    expect(readFileSync(server.nodes[0]!.logFile, "utf8")).not.toContain("s3cret");
  });

  it("redis without a password (protected mode would refuse every non-loopback client)", async () => {
    await using server = await startRedis({ host: lab.gateway });
    const answer = await clientIn(
      client,
      `const R = require("ioredis"); const r = new R(${JSON.stringify(server.url)});
       r.ping().then((p) => { console.log(p); r.disconnect(); });`,
    );
    expect(answer).toBe("PONG");
  });

  it("postgres", async () => {
    await using server = await startPostgres({ host: lab.gateway });
    expect(server.url).toBe(`postgresql://postgres@${lab.gateway}:${server.nodes[0]!.port}/postgres`);
    const answer = await clientIn(
      client,
      `const { Client } = require("pg"); const c = new Client({ connectionString: ${JSON.stringify(server.url)} });
       c.connect().then(() => c.query("select inet_client_addr()::text as a")).then((r) => { console.log(r.rows[0].a); return c.end(); });`,
    );
    expect(answer).toBe(`${client.address}/32`);
  });

  it("mariadb", async () => {
    await using server = await startMariaDB({ host: lab.gateway });
    expect(server.url).toBe(`mysql://root@${lab.gateway}:${server.nodes[0]!.port}/rollcall`);
    const answer = await clientIn(
      client,
      `const m = require("mysql2/promise");
       m.createConnection({ uri: ${JSON.stringify(server.url)} }).then(async (c) => {
         const [rows] = await c.query("select current_user() as u, database() as d");
         console.log(rows[0].u + " " + rows[0].d); await c.end(); });`,
    );
    expect(answer).toBe("root@% rollcall");
  });
});
