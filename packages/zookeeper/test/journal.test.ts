import { startZooKeeper, ZOOKEEPER_JVM_OPTIONS, type ZooKeeperServer } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Journal, SWEEP_CONCURRENCY } from "../src/journal.js";
import { Layout } from "../src/layout.js";
import { ZkSession } from "../src/zk-session.js";
import {
  driverFor,
  eventually,
  fresh,
  rawClient,
  sessionRecorder,
  silent,
  standaloneServer,
  watchRecorder,
} from "./helpers.js";

const zk = standaloneServer();
const drivers = zk.drivers;

async function journal(namespace: string, group: string): Promise<string[]> {
  const raw = await rawClient(zk.server.connectionString);
  try {
    const listed = await raw.call("a_get_children", `/${namespace}/.journal/${group}`, false);
    return listed.rc === 0 ? (listed.value[0] as string[]).sort() : [];
  } finally {
    raw.close();
  }
}

describe("journal", () => {
  it("holds a leave intent per leave and an update record per update, swept after journalRetention", async () => {
    const namespace = fresh("j");
    const driver = driverFor(`${zk.server.url}?journalRetention=1000`, { namespace });
    await driver.open(sessionRecorder(), AbortSignal.timeout(10_000));
    drivers.push(driver);
    await driver.createGroup("g");
    const a = await driver.join("g", "a@b", { n: 0 });
    await driver.update("g", "a@b", { n: 1 });
    await driver.leave("g", "a@b");
    const czxid = a.seq.toString(16).padStart(16, "0");
    expect((await journal(namespace, "g")).map((name) => name.replace(/\d{10}$/, "#"))).toEqual([
      `L.a@b@${czxid}-#`,
      `U.a@b@${czxid}.1-#`,
    ]);
    await new Promise((r) => setTimeout(r, 1100));
    await driver.join("g", "c", {});
    await driver.leave("g", "c");
    await eventually(async () => (await journal(namespace, "g")).length === 1, 5000, "the old records swept");
    expect((await journal(namespace, "g"))[0]).toMatch(/^L\.c@/);
  });

  it("deleteGroup removes the group's journal", async () => {
    const namespace = fresh("j");
    const driver = driverFor(zk.server.url, { namespace });
    await driver.open(sessionRecorder(), AbortSignal.timeout(10_000));
    drivers.push(driver);
    await driver.createGroup("g");
    await driver.join("g", "a", {});
    await driver.leave("g", "a");
    expect(await journal(namespace, "g")).toHaveLength(1);
    await driver.deleteGroup("g");
    const raw = await rawClient(zk.server.connectionString);
    try {
      expect((await raw.call("a_exists", `/${namespace}/.journal/g`, false)).rc).toBe(-101);
    } finally {
      raw.close();
    }
  });
});

describe("journal sweeping", () => {
  it("finds the retention's cutoff with O(log n) reads and deletes only the older records, a few at a time", async () => {
    const namespace = fresh("j");
    const [host, port] = zk.server.connectionString.split(",")[0]?.split(":") ?? [];
    const session = await ZkSession.open({
      addresses: [{ host: host as string, port: Number(port) }],
      sessionTimeout: 4000,
      describe: "test",
      onAck() {},
      signal: AbortSignal.timeout(10_000),
    });
    try {
      expect((await session.create(`/${namespace}`, Buffer.alloc(0), 0)).rc).toBe(0);
      const layout = new Layout(namespace);
      const journal = new Journal(layout, false, 1000, silent, { ttl: false });
      const write = async (count: number, tag: string) => {
        for (let i = 0; i < count; i += 100) {
          const batch = Array.from({ length: Math.min(100, count - i) }, (_, k) =>
            journal.append(session, "g", layout.leaveRecord("g", `${tag}${i + k}`, 1), Buffer.from("{}")),
          );
          expect(new Set(await Promise.all(batch))).toEqual(new Set([0]));
        }
      };
      await write(600, "old");
      await new Promise((r) => setTimeout(r, 1100));
      await write(400, "new");
      const before = { ...session.sent };
      let inFlight = 0;
      let peak = 0;
      const del = session.delete.bind(session);
      session.delete = (path, version) => {
        peak = Math.max(peak, ++inFlight);
        return del(path, version).finally(() => inFlight--);
      };
      const report = await journal.offer(session, "g");
      const sent = Object.fromEntries(
        Object.entries(session.sent).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
      );
      expect(report).toEqual({ records: 1000, probes: expect.any(Number), deleted: 600 });
      // ⌈log2(1001)⌉ = 10 probes; the offer's own exists of the journal znode; one listing; one claim.
      expect(report?.probes).toBeLessThanOrEqual(10);
      expect(sent).toEqual({
        create: 0,
        exists: 1 + (report?.probes ?? 0),
        get: 0,
        children: 1,
        set: 1,
        delete: 600,
        sync: 0,
        setAcl: 0,
      });
      expect(peak).toBeLessThanOrEqual(SWEEP_CONCURRENCY);
      const left = await session.children(layout.journal("g"));
      expect(left.value?.children.every((name) => name.startsWith("L.new"))).toBe(true);
      expect(left.value?.children).toHaveLength(400);
      // Swept just now: another offer, by anyone, is not due and costs one exists.
      const other = new Journal(layout, false, 60_000, silent, { ttl: false });
      other.serverTime(Date.now());
      const again = { ...session.sent };
      expect(await other.offer(session, "g")).toBeUndefined();
      expect(session.sent.exists - again.exists).toBe(1);
      expect(session.sent.set - again.set).toBe(0);
    } finally {
      session.close();
    }
  });

  it("of coordinators offering at once, one sweeps", async () => {
    const namespace = fresh("j");
    const [host, port] = zk.server.connectionString.split(",")[0]?.split(":") ?? [];
    const open = () =>
      ZkSession.open({
        addresses: [{ host: host as string, port: Number(port) }],
        sessionTimeout: 4000,
        describe: "test",
        onAck() {},
        signal: AbortSignal.timeout(10_000),
      });
    const sessions = await Promise.all(Array.from({ length: 5 }, open));
    try {
      const layout = new Layout(namespace);
      expect((await sessions[0]?.create(`/${namespace}`, Buffer.alloc(0), 0))?.rc).toBe(0);
      const journals = sessions.map(() => new Journal(layout, false, 1000, silent, { ttl: false }));
      await journals[0]?.append(
        sessions[0] as ZkSession,
        "g",
        layout.leaveRecord("g", "a", 1),
        Buffer.from("{}"),
      );
      await new Promise((r) => setTimeout(r, 400));
      for (const journal of journals) journal.serverTime(Date.now());
      const reports = await Promise.all(
        journals.map((journal, i) => journal.offer(sessions[i] as ZkSession, "g")),
      );
      expect(reports.filter((r) => r !== undefined)).toHaveLength(1);
    } finally {
      for (const session of sessions) session.close();
    }
  });

  it("a coordinator whose idea of the server's time is stale still sweeps, by its own clock", async () => {
    const namespace = fresh("j");
    const [host, port] = zk.server.connectionString.split(",")[0]?.split(":") ?? [];
    const session = await ZkSession.open({
      addresses: [{ host: host as string, port: Number(port) }],
      sessionTimeout: 4000,
      describe: "test",
      onAck() {},
      signal: AbortSignal.timeout(10_000),
    });
    try {
      const layout = new Layout(namespace);
      expect((await session.create(`/${namespace}`, Buffer.alloc(0), 0)).rc).toBe(0);
      const journal = new Journal(layout, false, 1000, silent, { ttl: false });
      await journal.append(session, "g", layout.leaveRecord("g", "a", 1), Buffer.from("{}"));
      // The newest server timestamp it saw is an hour old (a member's mtime, say).
      journal.serverTime(Date.now() - 3_600_000);
      expect(await journal.offer(session, "g")).toBeUndefined();
      await new Promise((r) => setTimeout(r, 1100));
      // The journal znode's mtime has not changed for a sweep interval: due.
      expect(await journal.offer(session, "g")).toEqual({ records: 1, probes: 1, deleted: 1 });
    } finally {
      session.close();
    }
  });

  it("stays bounded by the retention when every writer is gone: a watcher sweeps", async () => {
    const namespace = fresh("j");
    const url = `${zk.server.url}?journalRetention=1000`;
    const watcher = driverFor(url, { namespace });
    await watcher.open(sessionRecorder(), AbortSignal.timeout(10_000));
    drivers.push(watcher);
    await watcher.createGroup("g");
    const snapshot = await watcher.members("g");
    const recorder = watchRecorder();
    await watcher.watch("g", snapshot.revision, recorder);
    const writers = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const writer = driverFor(url, { namespace });
        await writer.open(sessionRecorder(), AbortSignal.timeout(10_000));
        return writer;
      }),
    );
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 30; i++) {
          await writer.join("g", `w${w}-${i}`, {});
          await writer.update("g", `w${w}-${i}`, { i });
          await writer.leave("g", `w${w}-${i}`);
        }
      }),
    );
    await Promise.all(writers.map((writer) => writer.close()));
    await eventually(() => recorder.events.length >= 270, 10_000, "every event");
    expect((await journal(namespace, "g")).length).toBeGreaterThan(0);
    // Nobody writes any more: the watcher's own offers (every retention/4, jittered) sweep it.
    await eventually(
      async () => (await journal(namespace, "g")).length === 0,
      5000,
      "the journal swept empty",
    );
  });
});

describe("journal records as TTL znodes (a server with zookeeper.extendedTypesEnabled=true)", () => {
  let server: ZooKeeperServer | undefined;
  beforeAll(async () => {
    server = await startZooKeeper({
      nodes: 1,
      jvmOptions: [
        ...ZOOKEEPER_JVM_OPTIONS,
        "-Dzookeeper.extendedTypesEnabled=true",
        "-Dznode.container.checkIntervalMs=500",
      ],
    });
  }, 60_000);
  afterAll(() => server?.close());

  it("the server deletes them after the retention with no client left", async () => {
    const namespace = fresh("j");
    const url = `${server?.url}?journalRetention=1000`;
    const writer = driverFor(url, { namespace });
    await writer.open(sessionRecorder(), AbortSignal.timeout(10_000));
    await writer.createGroup("g");
    for (let i = 0; i < 20; i++) {
      await writer.join("g", `m${i}`, {});
      await writer.update("g", `m${i}`, { i });
      await writer.leave("g", `m${i}`);
    }
    await writer.close();
    const raw = await rawClient(server?.connectionString as string);
    try {
      const list = async () => {
        const listed = await raw.call("a_get_children", `/${namespace}/.journal/g`, false);
        return listed.rc === 0 ? (listed.value[0] as string[]) : [];
      };
      expect((await list()).length).toBeGreaterThan(0);
      await eventually(async () => (await list()).length === 0, 5000, "the server to delete the records");
    } finally {
      raw.close();
    }
  });
});
