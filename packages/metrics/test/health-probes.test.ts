import { randomId, withParams } from "@rollcall/conformance";
import { type Coordinator, connect } from "@rollcall/core";
import "@rollcall/redis";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sampleValue, serveMetrics } from "../src/index.js";
import { request, scrape, untilStatus } from "./support/scrape.js";

const SESSION_TIMEOUT = 2000;
let redis: RedisServer | undefined;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
});
afterAll(async () => {
  await redis?.close();
});

function url(): string {
  return withParams(redis?.url as string, {
    namespace: randomId("ns"),
    sessionTimeout: SESSION_TIMEOUT,
    retryInterval: 300,
  });
}

async function coordinator(at: string, memberId = randomId("m")): Promise<Coordinator> {
  const coord = await connect(at, { memberId });
  cleanups.push(() => coord.close());
  return coord;
}

async function served(coord: Coordinator, elections: string[] = []): Promise<string> {
  const server = await serveMetrics(coord, { listen: "127.0.0.1:0", elections });
  cleanups.push(() => server.close());
  return server.url;
}

describe("health probes on Redis", () => {
  it("/readyz and the leader probe turn 503 while the server is stopped and 200 once it is back; /healthz and /metrics keep answering", async () => {
    const at = url();
    const coord = await coordinator(at);
    await coord.join("web", { createGroup: true });
    const base = await served(coord, ["web"]);
    await coord.election("web").campaign();
    expect(await request(`${base}/healthz`)).toMatchObject({ status: 200, body: "ok\n" });
    expect(await request(`${base}/readyz`)).toMatchObject({
      status: 200,
      body: "ready: session connected\n",
    });
    const leading = await request(`${base}/leaderz?election=web`);
    expect(leading.status).toBe(200);
    expect(leading.body).toMatch(/^leader of web \(token \d+\)\n$/);

    const node = redis?.nodes[0];
    if (!node) throw new Error("no redis node");
    await node.stop();
    try {
      const down = await untilStatus(base, "/readyz", 503, SESSION_TIMEOUT * 3);
      expect(down.body).toMatch(/^not ready: session (suspended|expired)\n$/);
      expect(down.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      const notLeading = await request(`${base}/leaderz?election=web`);
      expect(notLeading).toMatchObject({ status: 503, body: "not a leader of web\n" });
      expect((await request(`${base}/healthz`)).status).toBe(200);
      const samples = await scrape(base);
      expect(sampleValue(samples, "rollcall_session_state", { state: "connected" })).toBe(0);
      expect(sampleValue(samples, "rollcall_election_leader", { election: "web" })).toBe(0);
      expect(sampleValue(samples, "rollcall_session_suspensions_total")).toBeGreaterThanOrEqual(1);
      // Past the session timeout the server can have expired the session: the coordinator will re-open it.
      await new Promise((r) => setTimeout(r, SESSION_TIMEOUT));
    } finally {
      await node.start();
    }
    await untilStatus(base, "/readyz", 200, 20_000);
    // The candidacy re-enters the election by itself; the seat comes back.
    await untilStatus(base, "/leaderz?election=web", 200, 20_000);
    const samples = await scrape(base);
    expect(sampleValue(samples, "rollcall_session_state", { state: "connected" })).toBe(1);
    expect(sampleValue(samples, "rollcall_election_leader", { election: "web" })).toBe(1);
    expect(
      sampleValue(samples, "rollcall_election_transitions_total", { election: "web", transition: "ended" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("the leader probe moves with the leadership between two coordinators", async () => {
    const at = url();
    const first = await coordinator(at);
    const second = await coordinator(at);
    const firstBase = await served(first, ["singleton"]);
    const secondBase = await served(second, ["singleton"]);
    expect((await request(`${firstBase}/leaderz?election=singleton`)).status).toBe(503);
    const lead = await first.election("singleton").campaign();
    const pending = second.election("singleton").campaign();
    expect((await request(`${firstBase}/leaderz?election=singleton`)).status).toBe(200);
    expect((await request(`${firstBase}/leaderz`)).body).toBe("leader of singleton\n");
    expect(await request(`${secondBase}/leaderz?election=singleton`)).toMatchObject({
      status: 503,
      body: "not a leader of singleton\n",
    });
    expect((await request(`${secondBase}/leaderz`)).status).toBe(503);
    // Both are ready: readiness is about the session, not the seat.
    expect((await request(`${secondBase}/readyz`)).status).toBe(200);

    await first.close();
    const moved = await pending;
    expect(moved.token > lead.token).toBe(true);
    const answer = await untilStatus(secondBase, "/leaderz?election=singleton", 200, 10_000);
    expect(answer.body).toBe(`leader of singleton (token ${moved.token})\n`);
    expect(await request(`${firstBase}/leaderz?election=singleton`)).toMatchObject({ status: 503 });
    expect(await request(`${firstBase}/readyz`)).toMatchObject({
      status: 503,
      body: "not ready: session closed\n",
    });
  });

  it("a lock holder passes /leaderz?lock=NAME only while holding it", async () => {
    const coord = await coordinator(url());
    const base = await served(coord);
    expect((await request(`${base}/leaderz?lock=backup`)).status).toBe(503);
    const held = await coord.lock("backup").acquire();
    expect(await request(`${base}/leaderz?lock=backup`)).toMatchObject({
      status: 200,
      body: `holding lock backup (token ${held.token})\n`,
    });
    // A lock is not an election seat.
    expect((await request(`${base}/leaderz`)).status).toBe(503);
    await held.resign();
    expect((await request(`${base}/leaderz?lock=backup`)).status).toBe(503);
  });
});
