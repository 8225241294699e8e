import { ChildMember, randomId, withParams } from "@rollcall/conformance";
import { type Coordinator, connect } from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";
import "@rollcall/redis";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MetricSample, sampleValue, serveMetrics } from "../src/index.js";
import { scrape, untilSample } from "./support/scrape.js";

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

/** A member that can crash: a real process on Redis; a frozen in-process session on memory. */
interface Crashable {
  kill(): void | Promise<void>;
}

interface Backend {
  name: string;
  sessionTimeout: number;
  url(): string;
  crashable(url: string, memberId: string, group: string): Promise<Crashable>;
}

const backends: Backend[] = [
  {
    name: "memory",
    sessionTimeout: 1000,
    url: () => `memory://${randomId("store")}?sessionTimeout=1000`,
    async crashable(url, memberId, group) {
      const coord = await connect(url, { memberId });
      cleanups.push(async () => {
        memorySessions.thaw(memberId);
        await coord.close();
      });
      await coord.join(group);
      // Frozen: no heartbeat reaches the store, which expires the session as it would a SIGSTOPped process.
      return { kill: () => memorySessions.freeze(memberId) };
    },
  },
  {
    name: "redis",
    sessionTimeout: 2000,
    url: () => withParams(redis?.url as string, { namespace: randomId("ns"), sessionTimeout: 2000 }),
    async crashable(url, memberId, group) {
      const child = new ChildMember({ url, memberId, join: [{ group }] });
      cleanups.push(() => child.dispose());
      await child.ready(20_000);
      return { kill: () => child.kill() };
    },
  },
];

async function coordinator(url: string, memberId: string): Promise<Coordinator> {
  const coord = await connect(url, { memberId });
  cleanups.push(() => coord.close());
  return coord;
}

const v = (samples: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  sampleValue(samples, name, labels);

describe.each(backends)("/metrics follows a real scenario on $name", (backend) => {
  it("joins, an update, a graceful leave, a crash, a campaign, a lock wait and renewals show up as values", async () => {
    const url = backend.url();
    const watcher = await coordinator(url, randomId("watcher"));
    await watcher.createGroup("compute");
    const served = await serveMetrics(watcher, {
      listen: "127.0.0.1:0",
      groups: ["compute"],
      elections: ["scheduler"],
      locks: ["migration"],
    });
    cleanups.push(() => served.close());
    await served.metrics.ready();
    const base = served.url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    let s = await scrape(base);
    expect(v(s, "rollcall_backend_info", { backend: backend.name })).toBe(1);
    expect(v(s, "rollcall_session_state", { state: "connected" })).toBe(1);
    expect(v(s, "rollcall_session_state", { state: "suspended" })).toBe(0);
    expect(v(s, "rollcall_session_timeout_seconds")).toBe(backend.sessionTimeout / 1000);
    expect(v(s, "rollcall_group_members", { group: "compute" })).toBe(0);
    expect(v(s, "rollcall_election_leader", { election: "scheduler" })).toBe(0);
    expect(v(s, "rollcall_lock_held", { lock: "migration" })).toBe(0);

    // Three members join; one updates its metadata; one leaves; one crashes.
    const a = await coordinator(url, randomId("a"));
    const b = await coordinator(url, randomId("b"));
    await a.join("compute", { metadata: { cpus: 8 } });
    await b.join("compute");
    const crasher = await backend.crashable(url, randomId("c"), "compute");
    s = await untilSample(base, "rollcall_group_members", { group: "compute" }, (n) => n === 3, 10_000);
    expect(v(s, "rollcall_membership_events_total", { group: "compute", type: "join" })).toBe(3);

    await a.updateMetadata("compute", { cpus: 16 });
    await untilSample(
      base,
      "rollcall_membership_events_total",
      { group: "compute", type: "update" },
      (n) => n === 1,
      10_000,
    );

    await b.leave("compute");
    s = await untilSample(base, "rollcall_group_members", { group: "compute" }, (n) => n === 2, 10_000);
    expect(
      v(s, "rollcall_membership_events_total", { group: "compute", type: "leave", reason: "left" }),
    ).toBe(1);

    await crasher.kill();
    s = await untilSample(
      base,
      "rollcall_membership_events_total",
      { group: "compute", type: "leave", reason: "expired" },
      (n) => n === 1,
      backend.sessionTimeout * 3 + 10_000,
    );
    expect(v(s, "rollcall_group_members", { group: "compute" })).toBe(1);
    expect(v(s, "rollcall_membership_events_total", { group: "compute", type: "join" })).toBe(3);

    // The watcher leads, then resigns to a rival with a larger token.
    const lead = await watcher.election("scheduler").campaign();
    s = await scrape(base);
    expect(v(s, "rollcall_election_leader", { election: "scheduler" })).toBe(1);
    expect(v(s, "rollcall_election_fencing_token", { election: "scheduler" })).toBe(Number(lead.token));
    expect(
      v(s, "rollcall_election_transitions_total", { election: "scheduler", transition: "elected" }),
    ).toBe(1);
    const rival = a.election("scheduler").campaign();
    await lead.resign();
    const rivalLead = await rival;
    expect(rivalLead.token > lead.token).toBe(true);
    s = await scrape(base);
    expect(v(s, "rollcall_election_leader", { election: "scheduler" })).toBe(0);
    expect(v(s, "rollcall_election_transitions_total", { election: "scheduler", transition: "ended" })).toBe(
      1,
    );
    expect(v(s, "rollcall_election_fencing_token", { election: "scheduler" })).toBe(Number(lead.token));

    // The watcher waits for a lock another member holds.
    const held = await a.lock("migration").acquire();
    const asked = performance.now();
    const waiting = watcher.lock("migration").acquire();
    await new Promise((r) => setTimeout(r, 300));
    s = await scrape(base);
    expect(v(s, "rollcall_lock_held", { lock: "migration" })).toBe(0);
    // A histogram series appears with its first observation.
    expect(v(s, "rollcall_lock_wait_seconds_count", { lock: "migration" })).toBeUndefined();
    const releasedAt = performance.now();
    await held.resign();
    const mine = await waiting;
    s = await scrape(base);
    expect(v(s, "rollcall_lock_held", { lock: "migration" })).toBe(1);
    expect(v(s, "rollcall_lock_wait_seconds_count", { lock: "migration" })).toBe(1);
    expect(v(s, "rollcall_lock_wait_seconds_sum", { lock: "migration" })).toBeGreaterThanOrEqual(
      (releasedAt - asked) / 1000,
    );
    expect(v(s, "rollcall_lock_wait_seconds_bucket", { lock: "migration", le: "0.1" })).toBe(0);
    expect(v(s, "rollcall_lock_wait_seconds_bucket", { lock: "migration", le: "+Inf" })).toBe(1);
    await mine.resign();
    s = await scrape(base);
    expect(v(s, "rollcall_lock_held", { lock: "migration" })).toBe(0);

    // Renewals go on every sessionTimeout / 3 at most.
    s = await untilSample(
      base,
      "rollcall_session_renewal_round_trip_seconds_count",
      {},
      (n) => (n ?? 0) >= 3,
      backend.sessionTimeout * 3,
    );
    const sum = v(s, "rollcall_session_renewal_round_trip_seconds_sum") as number;
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThan((v(s, "rollcall_session_renewal_round_trip_seconds_count") as number) * 5);
    expect(v(s, "rollcall_session_expirations_total")).toBe(0);
    // No member id is ever a label.
    const labelValues = s.flatMap((sample) => Object.values(sample.labels));
    for (const id of [watcher.memberId, a.memberId, b.memberId]) expect(labelValues).not.toContain(id);
  });
});

describe("/metrics follows the process's own session on memory", () => {
  it("an expiry counts once, the re-join round once, and the state gauge goes back to connected", async () => {
    const url = `memory://${randomId("store")}?sessionTimeout=1000&retryInterval=100`;
    const coord = await coordinator(url, randomId("self"));
    await coord.join("ops", { createGroup: true });
    const served = await serveMetrics(coord, { listen: "127.0.0.1:0" });
    cleanups.push(() => served.close());
    memorySessions.disconnect(coord.memberId);
    let s = await untilSample(
      served.url,
      "rollcall_session_state",
      { state: "suspended" },
      (n) => n === 1,
      5000,
    );
    expect(v(s, "rollcall_session_state", { state: "connected" })).toBe(0);
    expect(v(s, "rollcall_session_suspensions_total")).toBe(1);
    memorySessions.reconnect(coord.memberId);
    await untilSample(served.url, "rollcall_session_state", { state: "connected" }, (n) => n === 1, 5000);
    memorySessions.expire(coord.memberId);
    s = await untilSample(served.url, "rollcall_session_rejoins_total", {}, (n) => n === 1, 10_000);
    expect(v(s, "rollcall_session_expirations_total")).toBe(1);
    expect(v(s, "rollcall_session_state", { state: "connected" })).toBe(1);
  });
});
