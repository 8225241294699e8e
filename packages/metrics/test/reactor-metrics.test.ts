import { randomId } from "@rollcall/conformance";
import { type Coordinator, connect, type Reactor, RollcallError, releaseReactor } from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type MetricSample,
  type MetricsServer,
  REACTOR_METRICS,
  reactorMetrics,
  sampleValue,
  serveMetrics,
} from "../src/index.js";
import { scrape, untilSample } from "./support/scrape.js";

// Reactors on the memory backend, scraped over real HTTP (what `rollcall react --http` would serve):
// members "crash" by having their in-process session frozen, which expires it on the store.
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
});

async function coordinator(url: string, memberId = randomId("c")): Promise<Coordinator> {
  const coord = await connect(url, { memberId });
  cleanups.push(() => coord.close());
  return coord;
}

/** A group `compute` with `size` members; returns their coordinators. */
async function fleet(url: string, size: number): Promise<Coordinator[]> {
  const admin = await coordinator(url, randomId("admin"));
  await admin.createGroup("compute");
  const members: Coordinator[] = [];
  for (let i = 0; i < size; i++) {
    const member = await coordinator(url, randomId(`node${i}`));
    await member.join("compute", { metadata: { instances: [`vm-${i}`] } });
    members.push(member);
  }
  return members;
}

/** Freezes a coordinator's session (a hung process); thawed at cleanup. */
function hang(coord: Coordinator): void {
  memorySessions.freeze(coord.memberId);
  cleanups.push(() => memorySessions.thaw(coord.memberId));
}

/** A reactor on `compute` whose handler does nothing; closed at cleanup. */
async function reactorOf(coord: Coordinator): Promise<Reactor> {
  const reactor = await coord.reactor("compute", async () => {});
  cleanups.push(() => reactor.close());
  return reactor;
}

/** The coordinator's metrics and the reactor's in one registry, served on a free port. */
async function serve(
  coord: Coordinator,
  reactor: Reactor,
  options: { readTimeout?: number; readInterval?: number } = {},
): Promise<MetricsServer> {
  const served = await serveMetrics(coord, { listen: "127.0.0.1:0" });
  const metrics = reactorMetrics(reactor, { registry: served.registry, readInterval: 0, ...options });
  cleanups.push(() => served.close());
  cleanups.push(() => metrics.close());
  return served;
}

const v = (samples: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  sampleValue(samples, name, labels);

const R = { reactor: "compute" };

describe("reactor metrics on memory, scraped over HTTP", () => {
  it("a handler that fails once then succeeds: failures 1, handled 1, its run time, pending 1 then 0", async () => {
    const url = `memory://${randomId("store")}?sessionTimeout=400&retryInterval=50`;
    const members = await fleet(url, 3);
    const actor = await coordinator(url);
    let attempts = 0;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const reactor = await actor.reactor(
      "compute",
      async () => {
        attempts++;
        if (attempts === 1) throw new Error("evacuation failed");
        await gate;
        await new Promise((r) => setTimeout(r, 150));
      },
      { brake: false, retry: { initial: 50, max: 100 } },
    );
    cleanups.push(() => reactor.close());
    // Closing the reactor waits for its handler: open the gate first should the test fail before.
    cleanups.push(() => open());
    const served = await serve(actor, reactor);
    let s = await untilSample(
      served.url,
      "rollcall_reactor_state",
      { ...R, state: "acting" },
      (n) => n === 1,
      10_000,
    );
    expect(v(s, "rollcall_reactor_state", { ...R, state: "standby" })).toBe(0);
    expect(v(s, "rollcall_reactor_braked", R)).toBe(0);
    expect(v(s, "rollcall_reactor_handled_total", R)).toBe(0);
    expect(v(s, "rollcall_reactor_failures_total", R)).toBe(0);
    expect(v(s, "rollcall_reactor_pending", R)).toBe(0);
    expect(v(s, "rollcall_reactor_handler_seconds_count", R)).toBeUndefined();

    hang(members[1] as Coordinator);
    s = await untilSample(served.url, "rollcall_reactor_failures_total", R, (n) => n === 1, 10_000);
    // The retry waits at the gate: the departure is still pending, nothing is recorded as handled.
    s = await untilSample(served.url, "rollcall_reactor_pending", R, (n) => n === 1, 10_000);
    expect(v(s, "rollcall_reactor_handled_total", R)).toBe(0);
    expect(v(s, "rollcall_reactor_failures_total", R)).toBe(1);
    expect(v(s, "rollcall_reactor_state", { ...R, state: "acting" })).toBe(1);

    open();
    s = await untilSample(served.url, "rollcall_reactor_handled_total", R, (n) => n === 1, 10_000);
    expect(v(s, "rollcall_reactor_failures_total", R)).toBe(1);
    expect(v(s, "rollcall_reactor_handler_seconds_count", R)).toBe(1);
    expect(v(s, "rollcall_reactor_handler_seconds_sum", R)).toBeGreaterThanOrEqual(0.1);
    expect(v(s, "rollcall_reactor_handler_seconds_bucket", { ...R, le: "0.1" })).toBe(0);
    expect(v(s, "rollcall_reactor_handler_seconds_bucket", { ...R, le: "+Inf" })).toBe(1);
    s = await untilSample(served.url, "rollcall_reactor_pending", R, (n) => n === 0, 10_000);
    expect(attempts).toBe(2);
    // The reactor's election shows in the coordinator's metrics of the same registry.
    expect(v(s, "rollcall_election_leader", { election: "reactor.compute" })).toBe(1);
    // No member id is ever a label.
    const labelValues = s.flatMap((sample) => Object.values(sample.labels));
    for (const coord of [actor, ...members]) expect(labelValues).not.toContain(coord.memberId);
  });

  it("a mass departure: braked 1 in the acting process and in a standing-by one; released: 0, and the handlers run", async () => {
    const url = `memory://${randomId("store")}?sessionTimeout=400&retryInterval=50`;
    const members = await fleet(url, 5);
    const runs: string[] = [];
    const options = { brake: { fraction: 0.5, window: 3000 } };
    const actorCoord = await coordinator(url);
    const actor = await actorCoord.reactor("compute", async (d) => void runs.push(d.key), options);
    cleanups.push(() => actor.close());
    const acting = await serve(actorCoord, actor);
    await untilSample(
      acting.url,
      "rollcall_reactor_state",
      { ...R, state: "acting" },
      (n) => n === 1,
      10_000,
    );
    const standbyCoord = await coordinator(url);
    const standby = await standbyCoord.reactor("compute", async (d) => void runs.push(d.key), options);
    cleanups.push(() => standby.close());
    const standing = await serve(standbyCoord, standby, { readInterval: 100 });
    let s = await untilSample(standing.url, "rollcall_reactor_braked", R, (n) => n === 0, 10_000);
    expect(v(s, "rollcall_reactor_state", { ...R, state: "standby" })).toBe(1);
    expect(v(s, "rollcall_reactor_pending", R)).toBe(0);

    for (const i of [0, 1, 2]) hang(members[i] as Coordinator);
    s = await untilSample(acting.url, "rollcall_reactor_braked", R, (n) => n === 1, 10_000);
    expect(v(s, "rollcall_reactor_state", { ...R, state: "braked" })).toBe(1);
    expect(v(s, "rollcall_reactor_state", { ...R, state: "acting" })).toBe(0);
    expect(v(s, "rollcall_reactor_pending", R)).toBe(3);
    // The stored brake: a process that stands by reports it too.
    s = await untilSample(standing.url, "rollcall_reactor_braked", R, (n) => n === 1, 10_000);
    expect(v(s, "rollcall_reactor_state", { ...R, state: "standby" })).toBe(1);
    expect(v(s, "rollcall_reactor_pending", R)).toBe(3);
    expect(v(s, "rollcall_reactor_handled_total", R)).toBe(0);
    // Held: longer than the brake's hold of half a window, nothing is handled.
    await new Promise((r) => setTimeout(r, 1600));
    s = await scrape(acting.url);
    expect(v(s, "rollcall_reactor_handled_total", R)).toBe(0);
    expect(v(s, "rollcall_reactor_braked", R)).toBe(1);
    expect(runs).toEqual([]);

    // The operator releases it from a third process.
    const operator = await coordinator(url);
    expect(await releaseReactor(operator, "compute")).toBe(true);
    s = await untilSample(acting.url, "rollcall_reactor_handled_total", R, (n) => n === 3, 10_000);
    expect(v(s, "rollcall_reactor_braked", R)).toBe(0);
    expect(v(s, "rollcall_reactor_state", { ...R, state: "acting" })).toBe(1);
    expect(v(s, "rollcall_reactor_failures_total", R)).toBe(0);
    await untilSample(acting.url, "rollcall_reactor_pending", R, (n) => n === 0, 10_000);
    s = await untilSample(standing.url, "rollcall_reactor_braked", R, (n) => n === 0, 10_000);
    expect(v(s, "rollcall_reactor_handled_total", R)).toBe(0);
    expect(runs).toHaveLength(3);
  });

  it("a scrape does not wait on a store that does not answer: the stored series are left out, the rest served", async () => {
    // A long session timeout: the short freezes below do not expire anything.
    const url = `memory://${randomId("store")}?sessionTimeout=5000&retryInterval=50`;
    await fleet(url, 1);
    const coord = await coordinator(url);
    const reactor = await reactorOf(coord);
    await untilState(reactor, "acting");
    const served = await serve(coord, reactor, { readTimeout: 300, readInterval: 60_000 });

    hang(coord);
    const asked = performance.now();
    let s = await scrape(served.url);
    const took = performance.now() - asked;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    expect(v(s, "rollcall_reactor_pending", R)).toBeUndefined();
    expect(v(s, "rollcall_reactor_state", { ...R, state: "acting" })).toBe(1);
    expect(v(s, "rollcall_reactor_braked", R)).toBe(0);
    expect(v(s, "rollcall_reactor_handled_total", R)).toBe(0);

    // Thawed, the read that was under way completes; within readInterval scrapes answer from it, even
    // from a store that hangs again.
    memorySessions.thaw(coord.memberId);
    s = await untilSample(served.url, "rollcall_reactor_pending", R, (n) => n === 0, 10_000);
    memorySessions.freeze(coord.memberId);
    s = await scrape(served.url);
    // Present: answered from the last read (a new one would have timed out and left it out).
    expect(v(s, "rollcall_reactor_pending", R)).toBe(0);
  });
});

describe("REACTOR_METRICS", () => {
  it("is exactly what reactorMetrics registers, labelled by reactor name; a second reactor is another label", async () => {
    const url = `memory://${randomId("store")}?sessionTimeout=1000`;
    const coord = await coordinator(url);
    await coord.createGroup("compute");
    await coord.createGroup("storage");
    const compute = await reactorOf(coord);
    const storage = await coord.reactor("storage", async () => {}, { name: "storage-ha" });
    cleanups.push(() => storage.close());
    const registry = new Registry();
    const metrics = reactorMetrics(compute, { registry, readInterval: 0 });
    cleanups.push(() => metrics.close());
    const untrack = metrics.track(storage);
    expect(metrics.track(storage)).toBeTypeOf("function");

    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name).sort()).toEqual(
      Object.keys(REACTOR_METRICS)
        .map((n) => `rollcall_${n}`)
        .sort(),
    );
    for (const metric of json) {
      const definition =
        REACTOR_METRICS[metric.name.slice("rollcall_".length) as keyof typeof REACTOR_METRICS];
      expect(metric.type, metric.name).toBe(definition.type);
      expect(metric.help).toBe(definition.help);
      for (const value of metric.values) {
        for (const label of Object.keys(value.labels)) {
          if (label === "le") continue;
          expect(definition.labels as readonly string[], `${metric.name} label ${label}`).toContain(label);
        }
      }
    }
    expect(metrics.metricNames).toHaveLength(Object.keys(REACTOR_METRICS).length);
    const text = await registry.metrics();
    expect(text).toContain('rollcall_reactor_handled_total{reactor="compute"} 0');
    expect(text).toContain('rollcall_reactor_handled_total{reactor="storage-ha"} 0');

    untrack();
    expect(await registry.metrics()).not.toContain("storage-ha");
    await storage.close();
    await compute.close();
    const closed = await registry.metrics();
    expect(closed).toContain('rollcall_reactor_state{reactor="compute",state="closed"} 1');
    expect(closed).not.toContain("rollcall_reactor_pending{");
    await metrics.close();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it("refuses bad input with INVALID_ARGUMENT", async () => {
    const url = `memory://${randomId("store")}?sessionTimeout=1000`;
    const coord = await coordinator(url);
    await coord.createGroup("compute");
    const reactor = await reactorOf(coord);
    const registry = new Registry();
    const invalid = (f: () => unknown, text: RegExp) => {
      let caught: unknown;
      try {
        f();
      } catch (error) {
        caught = error;
      }
      expect(RollcallError.hasCode(caught, "INVALID_ARGUMENT"), String(caught)).toBe(true);
      expect(String((caught as Error).message)).toMatch(text);
    };
    invalid(() => reactorMetrics({} as Reactor, { registry }), /needs a Reactor/);
    invalid(() => reactorMetrics(reactor, { registry: {} as Registry }), /prom-client Registry/);
    invalid(() => reactorMetrics(reactor, undefined as never), /needs options/);
    invalid(() => reactorMetrics(reactor, { registry, prefix: "bad-prefix" }), /prefix must match/);
    invalid(() => reactorMetrics(reactor, { registry, handlerBuckets: [1, 0.5] }), /increasing/);
    invalid(() => reactorMetrics(reactor, { registry, readTimeout: 0 }), /readTimeout/);
    invalid(() => reactorMetrics(reactor, { registry, readInterval: -1 }), /readInterval/);
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    const metrics = reactorMetrics(reactor, { registry });
    cleanups.push(() => metrics.close());
    invalid(() => reactorMetrics(reactor, { registry }), /one reactorMetrics\(\) per registry/);
    const other = await coordinator(url);
    const twin = await reactorOf(other);
    invalid(() => metrics.track(twin), /already reported/);
  });
});

async function untilState(reactor: Reactor, state: Reactor["state"]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (reactor.state !== state) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the reactor to be ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
