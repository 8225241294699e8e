import { eventually } from "@rollcall/conformance";
import { connect, RollcallError } from "@rollcall/core";
import { type Certificates, createCertificates, type EtcdServer, startEtcd } from "@rollcall/servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Coordinators, freshNamespace } from "./support/etcd.js";

// A real TLS etcd: https client URLs with --client-cert-auth, certificates made by @rollcall/servers.
let server: EtcdServer;
const coords = new Coordinators();

beforeAll(async () => {
  server = await startEtcd({ nodes: 1, tls: true });
});
afterAll(async () => {
  await server?.close();
});
afterEach(() => coords.closeAll());

function certificates(): NonNullable<EtcdServer["certificates"]> {
  const files = server.certificates;
  if (files === undefined) throw new Error("startEtcd({ tls: true }) gave no certificates");
  return files;
}

function tlsUrl(params: Record<string, string>): string {
  const query = new URLSearchParams({ namespace: freshNamespace(), sessionTimeout: "2000", ...params });
  return `${server.url}?${query}`;
}

describe("etcds:// (TLS)", () => {
  it("the server URL is etcds://", () => {
    expect(server.url).toMatch(/^etcds:\/\/127\.0\.0\.1:\d+$/);
  });

  it("ca=, cert= and key= make a verified, client-authenticated connection", async () => {
    const { caFile, clientCertFile, clientKeyFile } = certificates();
    const url = tlsUrl({ ca: caFile, cert: clientCertFile, key: clientKeyFile });
    const a = await coords.connect(url, "a");
    const b = await coords.connect(url, "b");
    await a.join("g", { createGroup: true });
    const view = await b.view("g");
    expect(view.has("a")).toBe(true);
    await a.close();
    await eventually(() => !view.has("a"), 5000, "a's leave");
  });

  it("without the client certificate the server refuses: a CONNECTION error", async () => {
    const error = await connect(`${tlsUrl({ ca: certificates().caFile })}&connectTimeout=2000`, {
      memberId: "x",
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
  });

  it("a server whose certificate the CA did not sign is refused: a CONNECTION error", async () => {
    const other: Certificates = await createCertificates({ hosts: ["127.0.0.1"] });
    try {
      const { clientCertFile, clientKeyFile } = certificates();
      const url = tlsUrl({ ca: other.caFile, cert: clientCertFile, key: clientKeyFile });
      const error = await connect(`${url}&connectTimeout=2000`, { memberId: "x" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    } finally {
      other.remove();
    }
  });
});
