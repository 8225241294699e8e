import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import https from "node:https";
import { Etcd3 } from "etcd3";
import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  CLIENT_COMMON_NAME,
  createCertificates,
  startEtcd,
  startPostgres,
  startRedis,
} from "../src/index.js";
import { httpCall } from "../src/probes.js";

function text(file: string, ...args: string[]): string {
  return execFileSync("openssl", ["x509", "-in", file, "-noout", ...args], { encoding: "utf8" });
}

describe("createCertificates", () => {
  it("makes a CA, a server certificate for the hosts and a client certificate, and removes them", async () => {
    const certs = await createCertificates({ hosts: ["127.0.0.1", "10.231.7.1", "db.example"] });
    try {
      for (const file of [certs.caFile, certs.serverCertFile, certs.clientCertFile]) {
        execFileSync("openssl", ["verify", "-CAfile", certs.caFile, file], { stdio: "ignore" });
      }
      const san = text(certs.serverCertFile, "-ext", "subjectAltName");
      expect(san).toContain("IP Address:127.0.0.1");
      expect(san).toContain("IP Address:10.231.7.1");
      expect(san).toContain("DNS:db.example");
      expect(san).toContain("DNS:localhost");
      expect(text(certs.clientCertFile, "-subject")).toContain(`CN = ${CLIENT_COMMON_NAME}`);
      expect(text(certs.clientCertFile, "-ext", "extendedKeyUsage")).toContain(
        "TLS Web Client Authentication",
      );
      expect(statSync(certs.serverKeyFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(certs.clientKeyFile, "utf8")).toContain("PRIVATE KEY");
    } finally {
      certs.remove();
      certs.remove();
    }
    expect(existsSync(certs.dir)).toBe(false);
  });
});

describe("startEtcd({ tls: true })", () => {
  it("serves https with client-certificate authentication", async () => {
    await using server = await startEtcd({ tls: true });
    const node = server.nodes[0]!;
    const certs = server.certificates!;
    expect(server.url).toBe(`etcds://127.0.0.1:${node.port}`);
    expect(server.hosts).toEqual([`https://127.0.0.1:${node.port}`]);
    expect(Object.keys(certs).sort()).toEqual(
      ["caFile", "clientCertFile", "clientKeyFile", "serverCertFile", "serverKeyFile"].sort(),
    );
    const client = new Etcd3({
      hosts: [...server.hosts],
      credentials: {
        rootCertificate: readFileSync(certs.caFile),
        certChain: readFileSync(certs.clientCertFile),
        privateKey: readFileSync(certs.clientKeyFile),
      },
    });
    try {
      await client.put("k").value("v");
      expect(await client.get("k").string()).toBe("v");
      // stats() reads /metrics over TLS with the client certificate
      expect(await server.stats()).toMatchObject({ connections: 1, objects: 1, detail: { unreachable: 0 } });
    } finally {
      client.close();
    }
    expect(await server.leader()).toBe(node);
    // plain HTTP is not served, and TLS without a client certificate is refused
    await expect(httpCall({ host: node.host, port: node.port }, "GET", "/health")).rejects.toThrow();
    const withoutClientCert = await new Promise<string>((resolve) => {
      const request = https.get(
        { host: node.host, port: node.port, path: "/health", ca: readFileSync(certs.caFile), agent: false },
        (response) => resolve(`status ${response.statusCode}`),
      );
      request.on("error", (error) => resolve(`error ${error.message}`));
    });
    expect(withoutClientCert).toMatch(/^error /);
  });

  it("a 3-member TLS cluster", async () => {
    await using server = await startEtcd({ nodes: 3, tls: true });
    expect(server.url).toMatch(/^etcds:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    expect(server.connectionString.split(",").every((h) => h.startsWith("https://"))).toBe(true);
    await server.leader();
  });
});

describe("startPostgres({ tls: true })", () => {
  it("accepts only TLS sessions", async () => {
    await using server = await startPostgres({ tls: true, password: "pw" });
    const certs = server.certificates!;
    const ca = readFileSync(certs.caFile, "utf8");
    const client = new pg.Client({ connectionString: server.url, ssl: { ca } });
    await client.connect();
    try {
      const { rows } = await client.query<{ ssl: boolean }>(
        "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
      );
      expect(rows[0]?.ssl).toBe(true);
      expect(await server.stats()).toMatchObject({ connections: 1, detail: { unreachable: 0 } });
    } finally {
      await client.end();
    }
    const plain = new pg.Client({ connectionString: server.url, ssl: false });
    await expect(plain.connect()).rejects.toThrow(/no encryption|pg_hba/);
    await plain.end().catch(() => undefined);
    await server.nodes[0]!.restart();
  });
});

describe("startRedis({ tls: true })", () => {
  it("serves only TLS on its port", async () => {
    await using server = await startRedis({ tls: true, password: "pw" });
    const node = server.nodes[0]!;
    expect(server.url).toBe(`rediss://:pw@127.0.0.1:${node.port}`);
    const ca = readFileSync(server.certificates!.caFile);
    const client = new Redis(server.url, { tls: { ca }, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      expect(await server.stats()).toMatchObject({ connections: 1, detail: { unreachable: 0 } });
    } finally {
      client.disconnect();
    }
    const plain = new Redis(`redis://:pw@127.0.0.1:${node.port}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
    });
    plain.on("error", () => undefined);
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  });
});
