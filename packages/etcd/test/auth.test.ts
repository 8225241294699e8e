import { eventually } from "@rollcall/conformance";
import { connect, RollcallError } from "@rollcall/core";
import { type EtcdServer, startEtcd, TcpProxy } from "@rollcall/servers";
import { type Etcd3, Range } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Coordinators, freshNamespace, rawClient } from "./support/etcd.js";

// etcd with authentication on; auth tokens expire after 2 s unused, so the tests also see the
// driver through a token renewal. The user "app" may only touch keys under its namespace.
const PASSWORD = "p@ss:w/rd%";
const TOKEN_TTL = 2;
let server: EtcdServer;
let root: Etcd3;
const ns = freshNamespace();
const coords = new Coordinators();

function appUrl(host: string, password = PASSWORD): string {
  return `etcd://app:${encodeURIComponent(password)}@${host}/${ns}?sessionTimeout=2000`;
}

beforeAll(async () => {
  server = await startEtcd({ nodes: 1, extraArgs: [`--auth-token-ttl=${TOKEN_TTL}`] });
  const setup = rawClient(server.hosts);
  await setup.role("root").create();
  await setup.user("root").create("root-password");
  await setup.user("root").addRole("root");
  await setup.role("app").create();
  await setup.role("app").grant({ permission: "Readwrite", range: Range.prefix(`${ns}/`) });
  await setup.user("app").create(PASSWORD);
  await setup.user("app").addRole("app");
  await setup.auth.authEnable();
  setup.close();
  root = new (await import("etcd3")).Etcd3({
    hosts: [...server.hosts],
    auth: { username: "root", password: "root-password" },
  });
});
afterAll(async () => {
  root?.close();
  await server?.close();
});
afterEach(() => coords.closeAll());

describe("etcd authentication (user:password@)", () => {
  it("a user limited to the namespace can join, watch, elect, leave and close", async () => {
    const host = server.url.slice("etcd://".length);
    const a = await coords.connect(appUrl(host), "a");
    const b = await coords.connect(appUrl(host), "b");
    await a.join("g", { createGroup: true });
    const view = await b.view("g");
    expect(view.has("a")).toBe(true);
    const leadership = await a.election("e").campaign();
    expect(leadership.isValid()).toBe(true);
    await leadership.resign();
    await a.close();
    await eventually(() => !view.has("a"), 5000, "a's leave");
  });

  it("a wrong password is a CONNECTION error naming the user and the hosts, never the password", async () => {
    const host = server.url.slice("etcd://".length);
    const error = await connect(`${appUrl(host, "wrong-secret")}&connectTimeout=2000`, {
      memberId: "x",
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    const text = `${(error as Error).message} ${String((error as Error).cause)}`;
    expect(text).toContain('"app"');
    expect(text).toContain(host);
    expect(text).not.toContain("wrong-secret");
  });

  it("after the auth token expired unused, watch and keep-alive streams resume without a re-list", async () => {
    const proxy = await TcpProxy.start(server.nodes[0]?.port ?? 0);
    try {
      const watcher = await coords.connect(appUrl(`127.0.0.1:${proxy.port}`), "w");
      const states: string[] = [];
      watcher.on("session", (state) => states.push(state));
      const member = await coords.connect(appUrl(server.url.slice("etcd://".length)), "m");
      await member.join("t", { createGroup: true });
      const view = await watcher.view("t");
      const leaves: string[] = [];
      view.on("change", (e) => e.type === "leave" && leaves.push(`${e.memberId} (${e.reason})`));
      // Idle past the token's TTL: the watcher makes no unary call, so its token expires.
      await new Promise((r) => setTimeout(r, TOKEN_TTL * 1000 + 1500));
      proxy.cut();
      await member.leave("t");
      proxy.restore();
      await eventually(() => !view.has("m"), 10_000, "the watcher sees m leave");
      // Resumed, not re-listed: the leave keeps its reason.
      expect(leaves).toEqual(["m (left)"]);
      await member.join("t");
      await eventually(() => view.has("m"), 5000, "the watcher sees m again");
      await eventually(() => states.at(-1) === "connected", 5000, "the watcher's session connected");
      expect(states).not.toContain("expired");
    } finally {
      await proxy.close();
    }
  });
});
