import { connect, type MembershipEvent } from "@rollcall/core";
import { startZooKeeper, type ZooKeeperServer } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/zookeeper";
import { driverFor, eventually, fresh, sessionRecorder } from "./helpers.js";

const N = 10_000;
let server: ZooKeeperServer;
beforeAll(async () => {
  server = await startZooKeeper({ nodes: 1 });
}, 60_000);
afterAll(() => server?.close());

async function inBatches(count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, count - from) }, (_, k) => task(from + k)));
  }
}

describe("a large group", () => {
  it(`members() and a watch stay correct with ${N} members in one group`, async () => {
    const namespace = fresh("big");
    // One session holds every member (ids compute-00000…): the driver takes any member id.
    const joiner = driverFor(server.url, { namespace, sessionTimeout: 20_000 });
    await joiner.open(sessionRecorder(), AbortSignal.timeout(10_000));
    await joiner.createGroup("compute");
    await using watcher = await connect(`${server.url}/${namespace}?sessionTimeout=20000`, {
      memberId: "scheduler",
    });
    const view = await watcher.view("compute");
    const changes: MembershipEvent[] = [];
    view.on("change", (e) => changes.push(e));
    const id = (i: number) => `compute-${String(i).padStart(5, "0")}`;
    const timings: Record<string, number> = {};
    let t = performance.now();

    await inBatches(N, (i) => joiner.join("compute", id(i), { i, host: `host-${i}.example.org` }));
    timings.join = performance.now() - t;
    await eventually(() => view.size === N, 60_000, `${N} members in the view`);
    timings.viewAfterJoins = performance.now() - t;

    t = performance.now();
    const listed = await watcher.members("compute");
    timings.members = performance.now() - t;
    expect(listed).toHaveLength(N);
    expect(new Set(listed.map((m) => m.seq)).size).toBe(N);
    expect(listed.map((m) => m.id)).toEqual(Array.from({ length: N }, (_, i) => id(i)).sort());
    expect(changes.filter((e) => e.type === "join")).toHaveLength(N);

    t = performance.now();
    await inBatches(N / 2, (i) => joiner.update("compute", id(i * 2), { i, updated: true }));
    await inBatches(N / 2, (i) => joiner.leave("compute", id(i * 2 + 1)));
    await eventually(() => view.size === N / 2, 60_000, `${N / 2} members left in the view`);
    await eventually(
      () => view.get(id(N - 2))?.metadata.updated === true,
      60_000,
      "the last update in the view",
    );
    timings.updatesAndLeaves = performance.now() - t;
    expect(changes.filter((e) => e.type === "update")).toHaveLength(N / 2);
    expect(view.members().every((m) => m.metadata.updated === true)).toBe(true);

    t = performance.now();
    await joiner.close();
    await eventually(() => view.size === 0, 60_000, "every member gone from the view");
    timings.closeToEmptyView = performance.now() - t;
    const leaves = changes.filter((e) => e.type === "leave");
    expect(leaves).toHaveLength(N);
    expect(leaves.every((e) => e.type === "leave" && e.reason === "left")).toBe(true);
    expect(changes.filter((e) => e.type === "snapshot")).toHaveLength(0);
    console.log(
      `${N} members:`,
      Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
    );
  }, 240_000);
});
