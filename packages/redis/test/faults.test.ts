import { type Coordinator, connect, type GroupView } from "@rollcall/core";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import "../src/index.js";
import { ChildMember, eventually, randomId, urlFor } from "./helpers.js";

const SESSION_TIMEOUT = 2000;
const RETRY_INTERVAL = 1000;
let server: RedisServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // No persistence: a restart loses every key, as a cache-only Redis would.
  server = await startRedis({ extraArgs: ["--appendonly", "no"] });
});

afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

afterAll(async () => {
  await server?.close();
});

function sorted(ids: string[]): string[] {
  return [...ids].sort();
}

describe("faults", () => {
  it("after a restart that lost the data, 20 members are back within retryInterval + 1 s and a watcher's view converges", async () => {
    const url = urlFor(server.url, { sessionTimeout: SESSION_TIMEOUT, retryInterval: RETRY_INTERVAL });
    const ids = Array.from({ length: 20 }, (_, i) => `member-${i}`);
    const members: Coordinator[] = [];
    for (const id of ids) {
      const coord = await connect(url, { memberId: id });
      cleanups.push(() => coord.close());
      await coord.join("compute", { createGroup: true, metadata: { id } });
      members.push(coord);
    }
    const watcher = await connect(url, { memberId: "watcher" });
    cleanups.push(() => watcher.close());
    const view: GroupView = await watcher.view("compute");
    cleanups.push(() => view.close());
    expect(sorted(view.members().map((m) => m.id))).toEqual(sorted(ids));

    const restartStarted = Date.now();
    await server.nodes[0]?.restart();
    const serverBack = Date.now();
    const listed = async () => {
      try {
        return sorted((await watcher.members("compute")).map((m) => m.id));
      } catch {
        return [];
      }
    };
    await eventually(
      async () => (await listed()).length === ids.length,
      RETRY_INTERVAL + 5000,
      "every member to re-join",
    );
    const allBack = Date.now();
    await eventually(() => view.size === ids.length, 5000, "the view to converge");
    const viewBack = Date.now();
    expect(await listed()).toEqual(sorted(ids));
    expect(sorted(view.members().map((m) => m.id))).toEqual(await listed());
    expect(view.members().every((m) => m.metadata.id === m.id)).toBe(true);
    const timing = {
      restart: serverBack - restartStarted,
      members: allBack - serverBack,
      view: viewBack - serverBack,
    };
    console.info(`restart without persistence: ${JSON.stringify(timing)} ms`);
    expect(timing.members).toBeLessThanOrEqual(RETRY_INTERVAL + 1000);
  });

  it("a restart that keeps the data (AOF) within the session timeout loses no session and no member", async () => {
    const persistent = await startRedis();
    cleanups.push(() => persistent.close());
    const url = urlFor(persistent.url, { sessionTimeout: SESSION_TIMEOUT, retryInterval: RETRY_INTERVAL });
    const states: string[] = [];
    const members: Coordinator[] = [];
    for (let i = 0; i < 5; i++) {
      const coord = await connect(url, { memberId: `member-${i}` });
      cleanups.push(() => coord.close());
      coord.on("session", (state) => states.push(state));
      await coord.join("compute", { createGroup: true });
      members.push(coord);
    }
    const watcher = await connect(url, { memberId: "watcher" });
    cleanups.push(() => watcher.close());
    const view = await watcher.view("compute");
    cleanups.push(() => view.close());
    const changes: string[] = [];
    view.on("change", (event) => changes.push(event.type));
    await persistent.nodes[0]?.restart();
    await eventually(
      () => members.every((m) => m.state === "connected") && states.includes("connected"),
      5000,
      "reconnect",
    );
    expect(states).toContain("suspended");
    expect(states.filter((s) => s === "expired")).toEqual([]);
    expect(changes.filter((c) => c === "leave")).toEqual([]);
    expect(view.size).toBe(5);
    // The watch resumed from the change log: a later change still arrives as a plain event.
    await members[0]?.updateMetadata("compute", { after: "restart" });
    await eventually(() => changes.includes("update"), 5000, "the update after the restart");
  });

  it("close() is bounded when the server is frozen or gone", async () => {
    const frozen = await startRedis();
    cleanups.push(() => frozen.close());
    const url = urlFor(frozen.url, { sessionTimeout: SESSION_TIMEOUT });
    const a = await connect(url, { memberId: "a" });
    const b = await connect(url, { memberId: "b" });
    await a.join("g", { createGroup: true });
    await b.join("g");
    frozen.nodes[0]?.pause();
    const t0 = Date.now();
    await a.close();
    expect(Date.now() - t0).toBeLessThan(3000);
    frozen.nodes[0]?.resume();
    await frozen.nodes[0]?.kill();
    const t1 = Date.now();
    await b.close();
    expect(Date.now() - t1).toBeLessThan(1000);
  });

  it("a frozen leader never overlaps with its successor", async () => {
    const url = urlFor(server.url, { sessionTimeout: SESSION_TIMEOUT, retryInterval: 200 });
    const election = randomId("e");
    const first = new ChildMember({ url, memberId: "first", election });
    cleanups.push(() => first.dispose());
    const elected = await first.waitFor((m) => m.type === "elected", 10_000);
    const second = new ChildMember({ url, memberId: "second", election });
    cleanups.push(() => second.dispose());
    await second.waitFor((m) => m.type === "ready", 10_000);
    await first.waitFor((m) => m.type === "work" && m.at > Date.now() - 50, 2000);

    first.signal("SIGSTOP");
    const successor = await second.waitFor((m) => m.type === "elected", SESSION_TIMEOUT * 3);
    first.signal("SIGCONT");
    await first.waitFor((m) => m.type === "deposed" && m.token === elected.token, 5000);
    await first.waitFor((m) => m.type === "session" && m.state === "expired", 5000);

    expect(BigInt(String(successor.token))).toBeGreaterThan(BigInt(String(elected.token)));
    const firstWork = first.messages.filter((m) => m.type === "work" && m.token === elected.token);
    const lastFirstWork = Math.max(...firstWork.map((m) => m.at));
    expect(lastFirstWork).toBeLessThan(successor.at);
    // After the thaw the old leader did no more work under its old token.
    const deposed = first.messages.find((m) => m.type === "deposed");
    expect(firstWork.every((m) => m.at <= (deposed?.at ?? 0))).toBe(true);
    console.info(
      `frozen leader: last work ${successor.at - lastFirstWork} ms before the successor was elected`,
    );
  });
});
