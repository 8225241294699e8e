import { performance } from "node:perf_hooks";
import { eventually } from "@rollcall/conformance";
import type { MembershipEvent, SessionState } from "@rollcall/core";
import { EtcdDriver } from "@rollcall/etcd";
import { type EtcdServer, startEtcd, TcpProxy } from "@rollcall/servers";
import type { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Coordinators,
  driverConfig,
  freshNamespace,
  memberLease,
  rawClient,
  urlFor,
} from "./support/etcd.js";

let server: EtcdServer;
let raw: Etcd3;
let ns: string;
const coords = new Coordinators();

beforeAll(async () => {
  server = await startEtcd({ nodes: 1 });
  raw = rawClient(server.hosts);
});
afterAll(async () => {
  raw?.close();
  await server?.close();
});
beforeEach(() => {
  ns = freshNamespace();
});
afterEach(() => coords.closeAll());

function sessionLog(coord: { on(event: "session", l: (s: SessionState) => void): unknown }): SessionState[] {
  const states: SessionState[] = [];
  coord.on("session", (state) => states.push(state));
  return states;
}

describe("etcd sessions are leases", () => {
  it("sessionTimeout becomes the lease TTL, and the coordinator reports the applied value", async () => {
    const a = await coords.connect(urlFor(server.url, ns, { sessionTimeout: 3000 }), "a");
    expect(a.sessionTimeout).toBe(3000);
    await a.join("g", { createGroup: true });
    const lease = await memberLease(raw, ns, "g", "a");
    const ttl = await raw.leaseClient.leaseTimeToLive({ ID: lease });
    expect(ttl.grantedTTL).toBe("3");
  });

  it("one lease per session: every member key of the session is on it, and close() revokes it", async () => {
    const a = await coords.connect(urlFor(server.url, ns), "a");
    const w = await coords.connect(urlFor(server.url, ns), "w");
    await a.join("g1", { createGroup: true });
    await a.join("g2", { createGroup: true });
    await a.election("e").campaign();
    const all = await raw.kv.range({
      key: Buffer.from(`${ns}/@members/`),
      range_end: Buffer.from(`${ns}/@members0`),
    });
    const leases = new Set(all.kvs.map((kv) => kv.lease));
    expect(all.kvs.length).toBe(3);
    expect(leases.size).toBe(1);
    const [lease] = [...leases];
    expect(lease).not.toBe("0");
    const view = await w.view("g1");
    const leaves: MembershipEvent[] = [];
    view.on("change", (e) => e.type === "leave" && leaves.push(e));
    await a.close();
    expect((await raw.leaseClient.leaseTimeToLive({ ID: lease })).TTL).toBe("-1");
    const left = await raw.kv.range({
      key: Buffer.from(`${ns}/@members/`),
      range_end: Buffer.from(`${ns}/@members0`),
    });
    expect(left.kvs).toEqual([]);
    await eventually(() => leaves.length === 1, 5000, "the watcher sees a leave");
    expect(leaves[0]).toMatchObject({ memberId: "a", reason: "left" });
  });

  it("closing many watches at once disturbs nothing: operations and close() still reach etcd", async () => {
    const a = await coords.connect(urlFor(server.url, ns), "a");
    const w = await coords.connect(urlFor(server.url, ns), "w");
    const groups = ["g1", "g2", "g3", "g4"];
    for (const group of groups) await a.join(group, { createGroup: true });
    const views = await Promise.all(groups.map((group) => a.view(group)));
    await Promise.all(views.map((view) => view.close()));
    expect((await a.members("g1")).map((m) => m.id)).toEqual(["a"]);
    const watched = await w.view("g4");
    const leaves: MembershipEvent[] = [];
    watched.on("change", (e) => e.type === "leave" && leaves.push(e));
    await Promise.all(groups.map((group) => a.view(group)));
    const lease = await memberLease(raw, ns, "g1", "a");
    await a.close(); // closes its four views first
    expect((await raw.leaseClient.leaseTimeToLive({ ID: lease })).TTL).toBe("-1");
    await eventually(() => leaves.length === 1, 5000, "the watcher sees a leave");
    expect(leaves[0]).toMatchObject({ memberId: "a", reason: "left" });
  });

  it("keep-alives report renewed(sentAt) at least every sessionTimeout/3, sentAt taken before the answer", async () => {
    const driver = new EtcdDriver(driverConfig(server.url, ns));
    const renewals: { sentAt: number; at: number }[] = [];
    const states: string[] = [];
    await driver.open(
      {
        state: (state) => states.push(state),
        renewed: (sentAt) => renewals.push({ sentAt, at: performance.now() }),
      },
      AbortSignal.timeout(10_000),
    );
    await new Promise((r) => setTimeout(r, 3000));
    const leases = await raw.leaseClient.leaseLeases();
    await driver.close();
    expect(states).toEqual([]);
    expect(renewals.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < renewals.length; i++) {
      const previous = renewals[i - 1] as { sentAt: number; at: number };
      const current = renewals[i] as { sentAt: number; at: number };
      expect(current.sentAt).toBeLessThanOrEqual(current.at);
      expect(current.sentAt).toBeGreaterThan(previous.sentAt);
      expect(current.at - previous.at).toBeLessThanOrEqual(2000 / 3);
    }
    // close() revoked the lease: none of the leases listed while open is left.
    const after = new Set((await raw.leaseClient.leaseLeases()).leases.map((l) => l.ID));
    expect(leases.leases.filter((l) => !after.has(l.ID)).length).toBeGreaterThanOrEqual(1);
  });

  it("a lease revoked behind its back expires the session; core re-opens it and re-joins", async () => {
    const a = await coords.connect(urlFor(server.url, ns), "a");
    const w = await coords.connect(urlFor(server.url, ns), "w");
    const states = sessionLog(a);
    const rejoined: string[][] = [];
    a.on("rejoined", (groups) => rejoined.push(groups));
    await a.join("g", { createGroup: true });
    const view = await w.view("g");
    const events: MembershipEvent[] = [];
    view.on("change", (e) => events.push(e));
    const lease = await memberLease(raw, ns, "g", "a");
    await raw.leaseClient.leaseRevoke({ ID: lease });
    await eventually(() => rejoined.length === 1, 10_000, "a re-joined");
    expect(states).toEqual(["expired", "connected"]);
    expect(rejoined[0]).toEqual(["g"]);
    const again = await memberLease(raw, ns, "g", "a");
    expect(again).not.toBe(lease);
    await eventually(() => view.has("a") && events.length >= 2, 5000, "the watcher sees a back");
    expect(events.map((e) => (e.type === "leave" ? `leave:${e.reason}` : e.type))).toEqual([
      "leave:expired",
      "join",
    ]);
  });

  it("a waiting candidate whose lease is lost never leads on its old candidacy", async () => {
    const a = await coords.connect(urlFor(server.url, ns), "a");
    const b = await coords.connect(urlFor(server.url, ns), "b");
    const first = await a.election("e").campaign();
    let bLeads = false;
    const pending = b
      .election("e")
      .campaign()
      .then((l) => {
        bLeads = true;
        return l;
      });
    const key = Buffer.from(`${ns}/@members/_election.e/b`);
    let oldSeq = 0n;
    await eventually(
      async () => {
        const kv = (await raw.kv.range({ key })).kvs[0];
        if (kv) oldSeq = BigInt(kv.create_revision);
        return kv !== undefined;
      },
      5000,
      "b's candidacy key",
    );
    const states = sessionLog(b);
    await raw.leaseClient.leaseRevoke({ ID: (await raw.kv.range({ key })).kvs[0]?.lease });
    await eventually(() => states.includes("connected"), 10_000, "b's session re-opened");
    expect(states[0]).toBe("expired");
    expect(bLeads).toBe(false);
    await eventually(
      async () => {
        const kv = (await raw.kv.range({ key })).kvs[0];
        return kv !== undefined && BigInt(kv.create_revision) > oldSeq;
      },
      5000,
      "b's candidacy back",
    );
    expect(bLeads).toBe(false);
    await first.resign();
    const second = await pending;
    expect(second.token > oldSeq).toBe(true);
    expect(second.isValid()).toBe(true);
  });
});

describe("etcd sessions when etcd is out of reach", () => {
  it("cut off: suspended at once, expired after TTL + 3 × electionTimeout, then re-joins by itself", async () => {
    const proxy = await TcpProxy.start(server.nodes[0]?.port ?? 0);
    try {
      const a = await coords.connect(urlFor(`etcd://127.0.0.1:${proxy.port}`, ns), "a");
      const w = await coords.connect(urlFor(server.url, ns), "w");
      const stamps: { state: SessionState; at: number }[] = [];
      a.on("session", (state) => stamps.push({ state, at: performance.now() }));
      await a.join("g", { createGroup: true });
      const view = await w.view("g");
      const events: MembershipEvent[] = [];
      view.on("change", (e) => events.push(e));
      const cutAt = performance.now();
      proxy.cut();
      await eventually(() => events.some((e) => e.type === "leave"), 6000, "the watcher sees a leave");
      expect(events[0]).toMatchObject({ type: "leave", memberId: "a", reason: "expired" });
      await eventually(() => stamps.some((s) => s.state === "expired"), 7000, "a's session expired");
      const suspended = stamps.find((s) => s.state === "suspended");
      const expired = stamps.find((s) => s.state === "expired");
      expect(suspended && suspended.at - cutAt).toBeLessThan(1000);
      // The last acknowledged keep-alive went out at most TTL/4 before the cut; expiry is declared
      // TTL + 3 × electionTimeout (1 s by default) after it.
      expect(expired && expired.at - cutAt).toBeGreaterThanOrEqual(2000 + 3000 - 500 - 50);
      expect(expired && expired.at - cutAt).toBeLessThan(2000 + 3000 + 1000);
      proxy.restore();
      await eventually(() => view.has("a"), 15_000, "a back in the view");
      expect(stamps.map((s) => s.state)).toEqual(["suspended", "expired", "connected"]);
    } finally {
      await proxy.close();
    }
  });

  it("close() is bounded when etcd is down", async () => {
    const own = await startEtcd({ nodes: 1 });
    try {
      const a = await coords.connect(urlFor(own.url, ns), "a");
      await a.join("g", { createGroup: true });
      await own.nodes[0]?.kill();
      const started = performance.now();
      await a.close();
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await own.close();
    }
  });
});
