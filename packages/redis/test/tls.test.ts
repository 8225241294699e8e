import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, RollcallError } from "@rollcall/core";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../src/index.js";
import { randomId } from "./helpers.js";

let server: RedisServer;
let dir: string;
let tlsPort: number;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rollcall-redis-tls-"));
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
    ],
    { stdio: "ignore" },
  );
  tlsPort = await freePort();
  server = await startRedis({
    password: "tls s3cret",
    extraArgs: [
      ...["--tls-port", String(tlsPort), "--tls-auth-clients", "no"],
      ...["--tls-cert-file", join(dir, "cert.pem"), "--tls-key-file", join(dir, "key.pem")],
    ],
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("rediss://", () => {
  const base = () => `rediss://:${encodeURIComponent("tls s3cret")}@127.0.0.1:${tlsPort}/0`;

  it("connects over TLS trusting tlsCaFile, and works", async () => {
    const url = `${base()}?namespace=${randomId("ns")}&sessionTimeout=2000&tlsCaFile=${encodeURIComponent(join(dir, "cert.pem"))}`;
    const a = await connect(url, { memberId: "a" });
    const b = await connect(url, { memberId: "b" });
    const view = await b.view("g").catch(async () => {
      await b.createGroup("g");
      return b.view("g");
    });
    await a.join("g");
    await new Promise<void>((resolve) => view.on("change", (e) => e.type === "join" && resolve()));
    expect(view.members().map((m) => m.id)).toEqual(["a"]);
    await view.close();
    await a.close();
    await b.close();
  });

  it("refuses a server certificate it cannot verify, naming the host but not the password", async () => {
    const url = `${base()}?namespace=${randomId("ns")}&connectTimeout=1500`;
    const error = await connect(url, { memberId: "a" }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    const text = `${(error as Error).message} ${String((error as Error).cause)}`;
    expect(text).toContain(`127.0.0.1:${tlsPort}`);
    expect(text).toContain("certificate");
    expect(text).not.toContain("s3cret");
  });
});
