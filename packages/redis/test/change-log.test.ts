import { type RedisServer, startRedis } from "@rollcall/servers";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisDriver } from "../src/redis-driver.js";
import { driverConfig, eventually, ListenerLog, randomId, WatchLog } from "./helpers.js";

let server: RedisServer;
let admin: Redis;
const drivers: RedisDriver[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.connectionString);
});

afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.close()));
  admin.disconnect();
  await server?.close();
});

async function openDriver(
  memberId: string,
  namespace: string,
  params: Record<string, string> = {},
): Promise<RedisDriver> {
  const driver = new RedisDriver(driverConfig(server.url, memberId, namespace, params));
  drivers.push(driver);
  await driver.open(new ListenerLog(), AbortSignal.timeout(5000));
  return driver;
}

describe("the per-group change log", () => {
  it("watch(group, revision) delivers exactly the changes after a snapshot, then live ones, in order", async () => {
    const ns = randomId("ns");
    const [a, b, w] = await Promise.all([openDriver("a", ns), openDriver("b", ns), openDriver("w", ns)]);
    await a.createGroup("g");
    await a.join("g", "a", { n: 1 });
    const snapshot = await w.members("g");
    expect(snapshot.members.map((m) => m.id)).toEqual(["a"]);
    // Changes between the snapshot and the watch must not be lost.
    await b.join("g", "b", {});
    await a.update("g", "a", { n: 2 });
    await b.leave("g", "b");
    const log = new WatchLog();
    const handle = await w.watch("g", snapshot.revision, log);
    await a.leave("g", "a");
    await b.join("g", "b", {});
    await eventually(() => log.events.length >= 5, 5000, "five events");
    expect(log.summary).toEqual(["join b", "update a", "leave b left", "leave a left", "join b"]);
    const revisions = log.events.map((e) => e.revision);
    expect([...revisions].sort((x, y) => (x < y ? -1 : 1))).toEqual(revisions);
    expect(revisions[0]).toBeGreaterThan(snapshot.revision);
    expect(log.resyncs).toEqual([]);
    await handle.close();
  });

  it("seq grows in visible order and joinedAt/updatedAt come from the server's clock", async () => {
    const ns = randomId("ns");
    const a = await openDriver("a", ns);
    await a.createGroup("g");
    const first = await a.join("g", "a", {});
    const [seconds = 0, micros = 0] = (await admin.time()).map(Number);
    const serverNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    expect(Math.abs(first.joinedAt.getTime() - serverNow)).toBeLessThan(1000);
    await a.leave("g", "a");
    const second = await a.join("g", "a", {});
    expect(second.seq).toBeGreaterThan(first.seq);
    const updated = await a.update("g", "a", { x: 1 });
    expect(updated.seq).toBe(second.seq);
    expect(updated.joinedAt.getTime()).toBe(second.joinedAt.getTime());
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(second.joinedAt.getTime());
  });

  it("calls resync() when the log was trimmed past the watch's revision", async () => {
    const ns = randomId("ns");
    const a = await openDriver("a", ns, { logLength: "10" });
    await a.createGroup("g");
    const snapshot = await a.members("g");
    for (let i = 0; i < 8; i++) {
      await a.join("g", "a", {});
      await a.leave("g", "a");
    }
    expect(await admin.xlen(`rollcall:{${ns}}:g/g/log`)).toBe(10);
    const log = new WatchLog();
    await a.watch("g", snapshot.revision, log);
    expect(log.resyncs).toHaveLength(1);
    expect(log.resyncs[0]).toContain("trimmed");
    expect(log.events).toEqual([]);
  });

  it("resumes from the log after a reconnect: changes published while disconnected are delivered without a resync", async () => {
    const ns = randomId("ns");
    const a = await openDriver("a", ns);
    const watcher = randomId("w");
    const w = await openDriver(watcher, ns);
    await a.createGroup("g");
    const log = new WatchLog();
    await w.watch("g", (await w.members("g")).revision, log);
    await a.join("g", "a", {});
    await eventually(() => log.events.length === 1, 5000, "the first join");
    // Cut the watcher's connection and change the group before it can reconnect (ioredis waits ≥ 50 ms).
    const watcherId = await findClient(`rollcall:${watcher}`);
    await admin.client("KILL", "ID", watcherId);
    await a.update("g", "a", { phase: 2 });
    await a.leave("g", "a");
    await eventually(() => log.events.length === 3, 5000, "the changes made while disconnected");
    expect(log.summary).toEqual(["join a", "update a", "leave a left"]);
    expect(log.resyncs).toEqual([]);
  });

  it("calls resync() after the data was lost", async () => {
    const ns = randomId("ns");
    const id = randomId("a");
    const a = await openDriver(id, ns);
    await a.createGroup("g");
    const log = new WatchLog();
    await a.watch("g", (await a.members("g")).revision, log);
    const keys = await admin.keys(`rollcall:{${ns}}:*`);
    await admin.del(...keys);
    await admin.client("KILL", "ID", await findClient(`rollcall:${id}`));
    await eventually(() => log.resyncs.length === 1, 5000, "a resync");
  });
});

describe("awaitGone", () => {
  it("resolves at once for an absent member, on the member's leave, and rejects when aborted", async () => {
    const ns = randomId("ns");
    const a = await openDriver("a", ns);
    const w = await openDriver(randomId("w"), ns);
    await a.createGroup("g");
    await w.awaitGone("g", "nobody", AbortSignal.timeout(5000));
    await a.join("g", "a", {});
    let gone = false;
    const waiting = w.awaitGone("g", "a", AbortSignal.timeout(5000)).then(() => {
      gone = true;
    });
    await a.update("g", "a", { still: "here" });
    expect(gone).toBe(false);
    await a.leave("g", "a");
    await waiting;
    await a.join("g", "a", {});
    const controller = new AbortController();
    const aborted = w.awaitGone("g", "a", controller.signal);
    controller.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
  });

  it("waits for one incarnation: a re-join under another seq counts as gone, before or during the wait", async () => {
    const ns = randomId("ns");
    const a = await openDriver("lead", ns);
    const w = await openDriver(randomId("w"), ns);
    await a.createGroup("e");
    const first = await a.join("e", "lead", {});
    // The predecessor resigns and queues again before the waiter starts waiting on it.
    await a.leave("e", "lead");
    const second = await a.join("e", "lead", {});
    await w.awaitGone("e", "lead", AbortSignal.timeout(5000), first.seq);
    // ...and while it waits: the re-join is published; the leave alone would do as well.
    let gone = false;
    const waiting = w.awaitGone("e", "lead", AbortSignal.timeout(5000), second.seq).then(() => {
      gone = true;
    });
    await a.update("e", "lead", { same: "incarnation" });
    expect(gone).toBe(false);
    await a.leave("e", "lead");
    await a.join("e", "lead", {});
    await waiting;
  });

  it("notices a leave published while disconnected, by checking again after the reconnect", async () => {
    const ns = randomId("ns");
    const a = await openDriver("a", ns);
    const watcher = randomId("w");
    const w = await openDriver(watcher, ns);
    await a.createGroup("g");
    await a.join("g", "a", {});
    const waiting = w.awaitGone("g", "a", AbortSignal.timeout(5000));
    await eventually(
      async () => (await admin.pubsub("NUMSUB", `rollcall:{${ns}}:c/g`))[1] === 1,
      5000,
      "the subscription",
    );
    await admin.client("KILL", "ID", await findClient(`rollcall:${watcher}`));
    await a.leave("g", "a");
    await waiting;
  });
});

async function findClient(name: string): Promise<string> {
  const list = String(await admin.client("LIST"));
  const line = list.split("\n").find((l) => l.includes(` name=${name} `));
  const id = / ?id=(\d+)/.exec(line ?? "")?.[1];
  if (id === undefined) throw new Error(`no client named ${name}`);
  return id;
}
