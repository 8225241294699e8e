import { eventually } from "@rollcall/conformance";
import { connect, RollcallError } from "@rollcall/core";
import { type EtcdServer, startEtcd } from "@rollcall/servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Coordinators, freshNamespace } from "./support/etcd.js";
import { makePki, type TestPki, TlsRelay } from "./support/tls-relay.js";

let server: EtcdServer;
let pki: TestPki;
let relay: TlsRelay;
const coords = new Coordinators();

beforeAll(async () => {
  server = await startEtcd({ nodes: 1 });
  pki = makePki();
  relay = await TlsRelay.start(server.nodes[0]?.port ?? 0, pki);
});
afterAll(async () => {
  await relay?.close();
  pki?.remove();
  await server?.close();
});
afterEach(() => coords.closeAll());

function tlsUrl(params: Record<string, string>): string {
  const query = new URLSearchParams({ namespace: freshNamespace(), sessionTimeout: "2000", ...params });
  return `etcds://localhost:${relay.port}?${query}`;
}

describe("etcds:// (TLS)", () => {
  it("ca=, cert= and key= make a verified, client-authenticated connection", async () => {
    const url = tlsUrl({ ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile });
    const a = await coords.connect(url, "a");
    const b = await coords.connect(url, "b");
    await a.join("g", { createGroup: true });
    const view = await b.view("g");
    expect(view.has("a")).toBe(true);
    await a.close();
    await eventually(() => !view.has("a"), 5000, "a's leave");
  });

  it("without the client certificate the server refuses: a CONNECTION error", async () => {
    const error = await connect(`${tlsUrl({ ca: pki.caFile })}&connectTimeout=2000`, { memberId: "x" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
  });

  it("a server whose certificate the CA did not sign is refused: a CONNECTION error", async () => {
    const other = makePki();
    try {
      const url = tlsUrl({ ca: other.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile });
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
