import { connect as netConnect } from "node:net";
import { Exposure, eventually, randomId } from "@rollcall/conformance";
import { type Coordinator, connect, HashRing, redactUrl, releaseReactor } from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";
import "@rollcall/redis";
import { startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashboardHandler, dashboardHandler, type WireReactor } from "../src/index.js";
import { get, StreamReader, serve } from "./support/http-client.js";
import { registerNoConfigBackend } from "./support/no-config-backend.js";

const PASSWORD = "dashboard-s3cret-Pw";
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
});
afterAll(async () => {
  await redis?.close();
});

async function memory(): Promise<{
  url: string;
  watcher: Coordinator;
  member: (id: string) => Promise<Coordinator>;
}> {
  const url = `memory://${randomId("dash")}?sessionTimeout=1000`;
  const opened: Coordinator[] = [];
  const watcher = await connect(url, { memberId: "watcher" });
  return {
    url,
    watcher,
    member: async (id) => {
      const c = await connect(url, { memberId: id });
      opened.push(c);
      return c;
    },
  };
}

describe("the dashboard handler", () => {
  it("serves the page with a strict CSP, refuses writes, and passes other paths on", async () => {
    const { watcher } = await memory();
    const handler = dashboardHandler(watcher);
    const http = await serve(handler);
    try {
      const page = await get(`${http.base}/`);
      expect(page.status).toBe(200);
      expect(page.headers["content-type"]).toMatch(/^text\/html/);
      expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(page.headers["content-security-policy"]).not.toContain("unsafe-inline");
      expect(page.headers["x-content-type-options"]).toBe("nosniff");
      expect(page.body).toContain('<script type="module" src="app.js">');
      expect((await get(`${http.base}/app.js`)).headers["content-type"]).toMatch(/javascript/);
      expect((await get(`${http.base}/style.css`)).status).toBe(200);
      for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
        const refused = await get(`${http.base}/events`, { method });
        expect(refused.status).toBe(405);
        expect(refused.headers.allow).toBe("GET, HEAD");
      }
      expect((await get(`${http.base}/metrics`)).status).toBe(404);
      expect((await get(`${http.base}/../../etc/passwd`)).status).toBe(404);
      expect((await get(`${http.base}/app.js%00`)).status).toBe(404);
      const head = await get(`${http.base}/`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.body).toBe("");
    } finally {
      await http.close();
      await handler.close();
      await watcher.close();
    }
  });

  it("answers only the allowed Host headers when asked to (no DNS rebinding)", async () => {
    const { watcher } = await memory();
    const handler = dashboardHandler(watcher, { allowedHosts: ["localhost:1"] });
    const http = await serve(handler);
    try {
      expect((await get(`${http.base}/`)).status).toBe(403);
      expect((await get(`${http.base}/`, { headers: { host: "localhost:1" } })).status).toBe(200);
      expect((await get(`${http.base}/events`, { headers: { host: "evil.example:80" } })).status).toBe(403);
      expect((await get(`${http.base}/`, { headers: { host: "localhost:2" } })).status).toBe(403);
    } finally {
      await http.close();
      await handler.close();
    }
    // A name without a port matches on any port (a tunnel's local port); other names do not.
    const byName = dashboardHandler(watcher, { allowedHosts: ["localhost", "[::1]"] });
    const http2 = await serve(byName);
    try {
      expect((await get(`${http2.base}/`, { headers: { host: "localhost:8080" } })).status).toBe(200);
      expect((await get(`${http2.base}/`, { headers: { host: "[::1]:7070" } })).status).toBe(200);
      expect((await get(`${http2.base}/`, { headers: { host: "localhost.evil.example" } })).status).toBe(403);
      expect((await get(`${http2.base}/`, { headers: { host: "127.0.0.1:7070" } })).status).toBe(403);
    } finally {
      await http2.close();
      await byName.close();
      await watcher.close();
    }
  });

  it("refuses bad options with INVALID_ARGUMENT", async () => {
    const { watcher } = await memory();
    expect(() => dashboardHandler(watcher, { basePath: "dash" })).toThrow(/basePath/);
    expect(() => dashboardHandler(watcher, { pageSize: 0 })).toThrow(/pageSize/);
    expect(() => dashboardHandler(watcher, { seats: { e: -1 } })).toThrow(/seats\.e/);
    expect(() => dashboardHandler(watcher, { maxClients: 1.5 })).toThrow(/maxClients/);
    expect(() => dashboardHandler(watcher, { configHistoryLength: 0 })).toThrow(/configHistoryLength/);
    await watcher.close();
  });

  it("streams a snapshot, then deltas — one member per join, not the whole group", async () => {
    const { watcher, member } = await memory();
    const a = await member("a");
    await a.join("compute", { createGroup: true, metadata: { cpus: 8 } });
    const handler = dashboardHandler(watcher, { discoveryInterval: 100 });
    await handler.refresh();
    const http = await serve(handler);
    const stream = new StreamReader(`${http.base}/events`);
    try {
      const snapshot = await stream.waitFor("a snapshot", (m) => m.type === "snapshot");
      const groups = snapshot.groups as { name: string; members: { id: string; metadata: unknown }[] }[];
      expect(groups.map((g) => g.name)).toEqual(["compute"]);
      expect(groups[0]?.members).toEqual([expect.objectContaining({ id: "a", metadata: { cpus: 8 } })]);
      const b = await member("b");
      await b.join("compute", { metadata: { cpus: 16 } });
      const join = await stream.waitFor("b's join", (m) => m.type === "join");
      expect(join).toMatchObject({ group: "compute", member: { id: "b", metadata: { cpus: 16 } } });
      expect(Object.keys(join)).not.toContain("members");
      await b.close();
      await stream.waitFor(
        "b's leave",
        (m) => m.type === "leave" && m.memberId === "b" && m.reason === "left",
      );
      const l = await a.election("scheduler").campaign();
      await handler.refresh();
      const election = await stream.waitFor(
        "the election",
        (m) => m.type === "election" && (m.contest as { candidates: unknown[] }).candidates.length === 1,
      );
      expect((election.contest as { candidates: { id: string; seq: string }[] }).candidates[0]).toMatchObject(
        {
          id: "a",
          seq: l.token.toString(),
        },
      );
      const state = JSON.parse((await get(`${http.base}/state`)).body) as { elections: { name: string }[] };
      expect(state.elections.map((e) => e.name)).toEqual(["scheduler"]);
      await l.resign();
      await a.close();
    } finally {
      await stream.close();
      await http.close();
      await handler.close();
      await watcher.close();
    }
  });

  it("shows the hash-ring owner of sample keys and moves them when members come and go", async () => {
    const { watcher, member } = await memory();
    const members = await Promise.all(["p1", "p2", "p3"].map((id) => member(id)));
    for (const m of members) await m.join("parts", { createGroup: true });
    const keys = ["order-1", "order-2", "order-3", "order-4", "order-5", "order-6"];
    const expected = (ids: string[]) => {
      const ring = new HashRing(ids);
      return keys.map((k) => [k, [...ring.getNodes(k)][0] ?? null]);
    };
    const handler = dashboardHandler(watcher, { discoveryInterval: 100, sampleKeys: keys });
    await handler.refresh();
    const http = await serve(handler);
    const stream = new StreamReader(`${http.base}/events`);
    try {
      const snapshot = await stream.waitFor("a snapshot", (m) => m.type === "snapshot");
      const group = (snapshot.groups as { name: string; ownership: unknown }[])[0];
      expect(group?.ownership).toEqual(expected(["p1", "p2", "p3"]));
      await members[1]?.close();
      const moved = await stream.waitFor("the ownership after p2 left", (m) => m.type === "ownership");
      expect(moved.ownership).toEqual(expected(["p1", "p3"]));
      expect(() => dashboardHandler(watcher, { sampleKeys: ["x".repeat(201)] })).toThrow(/sampleKeys/);
    } finally {
      await stream.close();
      await http.close();
      await handler.close();
      await Promise.all(members.map((m) => m.close()));
      await watcher.close();
    }
  });

  it("streams configuration stores: entries in the snapshot, one delta per put and delete, a bounded history newest first", async () => {
    const { watcher, member } = await memory();
    const writer = await member("writer");
    const nova = writer.config("nova");
    const v1 = await nova.set("scheduler/max_attempts", 5);
    await nova.set("scheduler/host", "compute-1");
    const handler = dashboardHandler(watcher, { discoveryInterval: 100, configHistoryLength: 3 });
    await handler.refresh();
    expect(handler.stats().configs).toBe(1);
    const http = await serve(handler);
    const stream = new StreamReader(`${http.base}/events`);
    try {
      const snapshot = await stream.waitFor("a snapshot", (m) => m.type === "snapshot");
      expect((snapshot.server as { config: string }).config).toBe("volatile");
      expect(snapshot.configHistoryLength).toBe(3);
      expect(snapshot.configs).toEqual([
        {
          name: "nova",
          entries: [
            {
              key: "scheduler/host",
              value: "compute-1",
              version: expect.any(String),
              updatedAt: expect.any(Number),
            },
            {
              key: "scheduler/max_attempts",
              value: 5,
              version: v1.toString(),
              updatedAt: expect.any(Number),
            },
          ],
          history: [],
        },
      ]);
      const versions: bigint[] = [];
      for (const value of [6, 7, 8, 9]) versions.push(await nova.set("scheduler/max_attempts", value));
      const last = await stream.waitFor(
        "the last put",
        (m) => m.type === "config-change" && (m.change as { value: unknown }).value === 9,
      );
      expect(last).toEqual({
        type: "config-change",
        name: "nova",
        change: {
          at: expect.any(Number),
          kind: "put",
          key: "scheduler/max_attempts",
          value: 9,
          version: versions[3]?.toString(),
          updatedAt: expect.any(Number),
        },
      });
      const puts = stream.messages.filter((m) => m.type === "config-change");
      expect(puts.map((m) => (m.change as { version: string }).version)).toEqual(versions.map(String));
      await nova.delete("scheduler/host");
      const deleted = await stream.waitFor(
        "the delete",
        (m) => m.type === "config-change" && (m.change as { kind: string }).kind === "delete",
      );
      expect(deleted.change).toMatchObject({
        kind: "delete",
        key: "scheduler/host",
        revision: expect.stringMatching(/^\d+$/),
      });
      const state = JSON.parse((await get(`${http.base}/state`)).body) as {
        configs: {
          name: string;
          entries: { key: string }[];
          history: { kind: string; version?: string }[];
        }[];
      };
      expect(state.configs[0]?.entries.map((e) => e.key)).toEqual(["scheduler/max_attempts"]);
      // Newest first, at most configHistoryLength.
      expect(state.configs[0]?.history.map((c) => [c.kind, c.version])).toEqual([
        ["delete", undefined],
        ["put", versions[3]?.toString()],
        ["put", versions[2]?.toString()],
      ]);
      // A store with no entry left is no longer listed: it goes.
      await nova.delete("scheduler/max_attempts");
      await stream.waitFor("the store's removal", (m) => m.type === "config-removed" && m.name === "nova");
      expect(handler.stats().configs).toBe(0);
    } finally {
      await stream.close();
      await http.close();
      await handler.close();
      await writer.close();
      await watcher.close();
    }
  });

  it("streams reactors from their store: the brake with its count, then pending departures with their attempts and last error, and the one handled", async () => {
    // In-process members frozen (as SIGSTOP would): their sessions expire. Member ids are unique to this
    // test, as memorySessions addresses them across memory stores.
    const url = `memory://${randomId("react")}?sessionTimeout=500&retryInterval=50`;
    const prefix = randomId("rx");
    const opened: Coordinator[] = [];
    const frozen: string[] = [];
    const open = async (id: string) => {
      const c = await connect(url, { memberId: id });
      opened.push(c);
      return c;
    };
    const admin = await open(`${prefix}-admin`);
    await admin.createGroup("compute");
    for (let i = 0; i < 5; i++) await (await open(`${prefix}-node${i}`)).join("compute", { metadata: { i } });
    const actor = await open(`${prefix}-actor`);
    let runs = 0;
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const reactor = await actor.reactor(
      "compute",
      async (d, { attempt }) => {
        runs++;
        // node0's third attempt succeeds; node1's second one waits for the gate; the others fail.
        if (d.memberId === `${prefix}-node0` && attempt >= 3) return;
        if (d.memberId === `${prefix}-node1` && attempt === 2) await gate;
        throw new Error(`cannot evacuate ${d.memberId}: no capacity`);
      },
      { brake: { fraction: 0.5, window: 3000 }, retry: { initial: 200, max: 400 } },
    );
    await eventually(() => reactor.state === "acting", 10_000, "the reactor to act");
    const watcher = await open(`${prefix}-watcher`);
    const handler = dashboardHandler(watcher, { discoveryInterval: 100 });
    await handler.refresh();
    const http = await serve(handler);
    const stream = new StreamReader(`${http.base}/events`);
    const reactorWith = (what: string, check: (r: WireReactor) => boolean) =>
      stream.waitFor(what, (m) => m.type === "reactor" && check(m.reactor as WireReactor), 15_000);
    try {
      const snapshot = await stream.waitFor("a snapshot", (m) => m.type === "snapshot");
      const elections = snapshot.elections as { name: string; candidates: { id: string; seq: string }[] }[];
      const holder = elections.find((e) => e.name === "reactor.compute")?.candidates[0];
      expect(holder?.id).toBe(`${prefix}-actor`);
      expect(snapshot.reactors).toEqual([
        {
          name: "compute",
          election: "reactor.compute",
          token: holder?.seq,
          brake: null,
          pending: [],
          pendingCount: 0,
        },
      ]);

      for (const i of [0, 1, 2]) {
        memorySessions.freeze(`${prefix}-node${i}`);
        frozen.push(`${prefix}-node${i}`);
      }
      const braked = await reactorWith("the brake", (r) => r.brake?.engaged === true && r.pendingCount === 3);
      expect(braked.reactor).toMatchObject({
        brake: { engaged: true, since: expect.any(Number), departures: 3, size: 5, releasedAt: null },
      });
      expect((braked.reactor as WireReactor).pending.map((p) => [p.memberId, p.reason, p.attempts])).toEqual(
        [0, 1, 2].map((i) => [`${prefix}-node${i}`, "expired", 0]),
      );
      const brakedLine = await stream.waitFor(
        "the brake's timeline line",
        (m) => m.type === "reactor-event" && (m.entry as { event: string }).event === "braked",
      );
      expect(brakedLine.entry).toEqual({
        at: expect.any(Number),
        kind: "reactor",
        name: "compute",
        event: "braked",
        key: null,
        detail: "3 of 5 members left within the window",
      });
      // The page's snapshot (and /state) says it too: a page opened now shows the banner.
      const state = JSON.parse((await get(`${http.base}/state`)).body) as {
        reactors: WireReactor[];
        timeline: { kind: string; event?: string }[];
      };
      expect(state.reactors[0]?.brake?.engaged).toBe(true);
      expect(state.timeline.filter((e) => e.kind === "reactor").map((e) => e.event)).toContain("braked");
      expect(runs).toBe(0);

      expect(await releaseReactor(admin, "compute")).toBe(true);
      await reactorWith("the release", (r) => r.brake?.engaged === false);
      await stream.waitFor(
        "the release's timeline line",
        (m) => m.type === "reactor-event" && (m.entry as { event: string }).event === "released",
      );
      // While a run goes, the departure says so and keeps the error of the run before.
      await reactorWith("node1's second run going, with its first error", (r) =>
        r.pending.some(
          (p) =>
            p.memberId === `${prefix}-node1` &&
            p.attempts === 2 &&
            p.running &&
            p.lastError === `cannot evacuate ${prefix}-node1: no capacity`,
        ),
      );
      openGate();
      // The handler keeps failing: the pending departures show their attempts and the last error.
      const failedTwice = (r: WireReactor, i: number) =>
        r.pending.some((p) => p.memberId === `${prefix}-node${i}` && p.attempts >= 2 && p.lastError !== null);
      const failing = await reactorWith(
        "node1 and node2 failed twice",
        (r) => failedTwice(r, 1) && failedTwice(r, 2),
      );
      for (const p of (failing.reactor as WireReactor).pending) {
        if (p.attempts > 1) expect(p.lastError).toBe(`cannot evacuate ${p.memberId}: no capacity`);
        expect(p.key).toBe(`${p.memberId}@${p.seq}`);
      }
      const failed = await stream.waitFor(
        "a failure's timeline line",
        (m) => m.type === "reactor-event" && (m.entry as { event: string }).event === "failed",
      );
      expect(failed.entry).toMatchObject({
        name: "compute",
        key: expect.stringMatching(new RegExp(`^${prefix}-node[012]@\\d+$`)),
        detail: expect.stringMatching(/^attempt \d+: cannot evacuate .*: no capacity$/),
      });
      // node0's third attempt succeeded: recorded as handled, once, and no longer pending.
      const handled = await stream.waitFor(
        "node0 handled",
        (m) => m.type === "reactor-event" && (m.entry as { event: string }).event === "handled",
      );
      expect((handled.entry as { key: string }).key).toMatch(new RegExp(`^${prefix}-node0@\\d+$`));
      await reactorWith(
        "node0 no longer pending",
        (r) => r.pendingCount === 2 && !r.pending.some((p) => p.memberId === `${prefix}-node0`),
      );
      const lines = stream.messages
        .filter((m) => m.type === "reactor-event")
        .map((m) => m.entry as { event: string; key: string | null });
      expect(lines.filter((l) => l.event === "handled")).toHaveLength(1);
      expect(lines.filter((l) => l.event === "cancelled")).toEqual([]);
    } finally {
      openGate();
      await stream.close();
      await http.close();
      await handler.close();
      await reactor.close();
      for (const id of frozen) memorySessions.thaw(id);
      await Promise.allSettled(opened.map((c) => c.close()));
    }
  });

  it("shows no configuration on a backend without a configuration store", async () => {
    registerNoConfigBackend();
    const watcher = await connect(`noconfig://${randomId("none")}`, { memberId: "watcher" });
    await watcher.join("g", { createGroup: true });
    const handler = dashboardHandler(watcher, { discoveryInterval: 100 });
    await handler.refresh();
    const http = await serve(handler);
    try {
      const state = JSON.parse((await get(`${http.base}/state`)).body) as {
        server: { config: string };
        configs: unknown[];
        groups: { name: string }[];
      };
      expect(state.server.config).toBe("none");
      expect(state.configs).toEqual([]);
      expect(state.groups.map((g) => g.name)).toEqual(["g"]);
      expect(handler.stats().configs).toBe(0);
    } finally {
      await http.close();
      await handler.close();
      await watcher.close();
    }
  });

  it("never shows the backend URL's credentials: not in the page, the stream, the state or a log line", async () => {
    const url = `${redis?.url}?namespace=${randomId("cred")}&sessionTimeout=2000`;
    expect(url).toContain(PASSWORD);
    const exposure = new Exposure();
    const restore = exposure.tapOutput();
    const watcher = await connect(url, { memberId: "watcher", logger: exposure.logger });
    const member = await connect(url, { memberId: "m1" });
    await member.join("g", { createGroup: true, metadata: { note: "hello" } });
    const lock = await member.lock("l").acquire();
    const handler = dashboardHandler(watcher, {
      label: redactUrl(url),
      logger: exposure.logger,
      discoveryInterval: 100,
    });
    await handler.refresh();
    const http = await serve(handler);
    const stream = new StreamReader(`${http.base}/events`);
    try {
      await stream.waitFor("the snapshot", (m) => m.type === "snapshot");
      await member.updateMetadata("g", { note: "again" });
      await stream.waitFor("the update", (m) => m.type === "update");
      for (const path of ["/", "/app.js", "/state"])
        exposure.add(`GET ${path}`, (await get(`${http.base}${path}`)).body);
      exposure.add("GET /events", stream.raw);
      exposure.capture("handler.stats()", handler.stats());
      expect(stream.raw).toContain(redactUrl(url));
      expect(exposure.leaks([PASSWORD])).toEqual([]);
    } finally {
      restore();
      await stream.close();
      await http.close();
      await handler.close();
      await lock.resign();
      await member.close();
      await watcher.close();
    }
  });

  it("releases everything after many clients connect and vanish: mid-stream, malformed, slow", async () => {
    const { watcher, member } = await memory();
    const a = await member("a");
    await a.join("churn", { createGroup: true });
    const handler = dashboardHandler(watcher, {
      discoveryInterval: 100,
      maxClients: 500,
      maxBufferedBytes: 16 * 1024,
    });
    await handler.refresh();
    const http = await serve(handler);
    const stats0 = handler.stats();
    try {
      // 150 readers that go away mid-stream.
      const readers = Array.from({ length: 150 }, () => new StreamReader(`${http.base}/events`));
      await Promise.all(readers.map((r) => r.waitFor("a snapshot", (m) => m.type === "snapshot")));
      expect(handler.stats().clients).toBe(150);
      await Promise.all(readers.map((r) => r.close()));

      // 50 raw sockets: some send garbage, some half a request, some a stream request and never read.
      const sockets = Array.from({ length: 50 }, (_, i) => {
        const socket = netConnect(Number(new URL(http.base).port), "127.0.0.1");
        socket.on("error", () => {});
        if (i % 3 === 0) socket.write("GARBAGE \x00\x01 / HTTP/9.9\r\n\r\n");
        else if (i % 3 === 1) socket.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        else {
          socket.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
          socket.pause(); // a slow client: never reads
        }
        return socket;
      });
      await eventually(() => handler.stats().clients >= 16, 10_000, "the slow stream clients to connect");
      // Churn with large metadata: the slow clients fall more than 16 KiB behind and are dropped.
      const big = "x".repeat(4000);
      for (let i = 0; i < 200; i++) await a.updateMetadata("churn", { i, big });
      for (const s of sockets) s.destroy();
      await eventually(() => handler.stats().clients === 0, 10_000, "every stream to be released");
      expect(handler.stats()).toEqual({ ...stats0, clients: 0, subscribers: 0 });
      await eventually(
        () => new Promise<boolean>((r) => http.server.getConnections((_e, n) => r(n === 0))),
        10_000,
        "every socket to close",
      );
    } finally {
      await http.close();
      await handler.close();
      await a.close();
    }
    expect(handler.stats()).toEqual({
      clients: 0,
      subscribers: 0,
      groups: 0,
      elections: 0,
      locks: 0,
      configs: 0,
    });
    await watcher.close();
  });

  it("drops a client that stops reading once it is more than maxBufferedBytes behind", async () => {
    const { watcher, member } = await memory();
    const a = await member("a");
    await a.join("slow", { createGroup: true });
    const handler: DashboardHandler = dashboardHandler(watcher, {
      discoveryInterval: 100,
      maxBufferedBytes: 8 * 1024,
    });
    await handler.refresh();
    const http = await serve(handler);
    const socket = netConnect(Number(new URL(http.base).port), "127.0.0.1");
    socket.on("error", () => {});
    socket.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    try {
      await eventually(() => handler.stats().clients === 1, 10_000, "the stream to open");
      const big = "y".repeat(8000);
      for (let i = 0; i < 400 && handler.stats().clients > 0; i++) await a.updateMetadata("slow", { i, big });
      await eventually(() => handler.stats().clients === 0, 10_000, "the slow client to be dropped");
      socket.resume();
      await closed;
    } finally {
      socket.destroy();
      await http.close();
      await handler.close();
      await a.close();
      await watcher.close();
    }
  });
});
