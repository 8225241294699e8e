import { type Coordinator, connect } from "@rollcall/core";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import "../src/index.js";
import { ChildMember, Recorder, randomId, urlFor } from "./helpers.js";

const SESSION_TIMEOUT = 2000;
let server: RedisServer;
let admin: Redis;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.connectionString);
});

afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

afterAll(async () => {
  admin.disconnect();
  await server?.close();
});

async function coordinator(url: string, memberId: string): Promise<Coordinator> {
  const coord = await connect(url, { memberId });
  cleanups.push(() => coord.close());
  return coord;
}

function child(url: string, memberId: string, groups: string[]): ChildMember {
  const member = new ChildMember({ url, memberId, groups });
  cleanups.push(() => member.dispose());
  return member;
}

/** A plain Redis subscriber on a group's channel: no coordinator, nobody listing the group. */
async function rawSubscriber(
  namespace: string,
  group: string,
): Promise<{ messages: { text: string; at: number }[] }> {
  const sub = new Redis(server.connectionString);
  cleanups.push(async () => sub.disconnect());
  const messages: { text: string; at: number }[] = [];
  sub.on("message", (_channel: string, text: string) => messages.push({ text, at: Date.now() }));
  await sub.subscribe(`rollcall:{${namespace}}:c/${group}`);
  return { messages };
}

describe("expiry without anybody listing the group", () => {
  it("a SIGKILLed member's leave{expired} is published within the bound, exactly once, by whichever live coordinator reaps it", async () => {
    const namespace = randomId("ns");
    const url = urlFor(server.url, { namespace, sessionTimeout: SESSION_TIMEOUT });
    // Several live coordinators that never list or watch the group: any of them may reap.
    for (let i = 0; i < 4; i++) await coordinator(url, `idle-${i}`);
    const victim = child(url, "victim", ["g"]);
    await victim.waitFor((m) => m.type === "ready", 10_000);
    const raw = await rawSubscriber(namespace, "g");
    const killedAt = Date.now();
    victim.signal("SIGKILL");
    const deadline = killedAt + SESSION_TIMEOUT + 1500;
    while (!raw.messages.some((m) => m.text.startsWith("l|")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const leaves = raw.messages.filter((m) => m.text.startsWith("l|"));
    expect(leaves.map((m) => m.text.split("|").slice(3))).toEqual([["victim", "expired"]]);
    expect(leaves[0]?.at ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(deadline);
    // Several reapers ran since; the change log still holds exactly one leave.
    await new Promise((r) => setTimeout(r, SESSION_TIMEOUT / 2));
    const log = (await admin.xrange(`rollcall:{${namespace}}:g/g/log`, "-", "+")).map(
      ([, fields]) => fields[1] ?? "",
    );
    expect(log.filter((text) => text.startsWith("l|"))).toHaveLength(1);
    expect(await admin.zcard(`rollcall:{${namespace}}:sessions`)).toBe(4);
  });

  it("a member frozen (SIGSTOP) past its TTL is seen to leave{expired}; thawed, it learns it expired and re-joins", async () => {
    const namespace = randomId("ns");
    const url = urlFor(server.url, { namespace, sessionTimeout: SESSION_TIMEOUT, retryInterval: 200 });
    const watcher = await coordinator(url, "watcher");
    const frozen = child(url, "frozen", ["g"]);
    await frozen.waitFor((m) => m.type === "ready", 10_000);
    const recorder = new Recorder(watcher, "g");
    cleanups.push(async () => recorder.stop());
    await recorder.waitFor((e) => e.type === "snapshot" && e.members.some((m) => m.id === "frozen"), 5000);
    frozen.signal("SIGSTOP");
    const frozenAt = Date.now();
    const left = await recorder.waitFor(
      (e) => e.type === "leave" && e.memberId === "frozen",
      SESSION_TIMEOUT + 3000,
    );
    expect(left.event).toMatchObject({ reason: "expired" });
    expect(left.at - frozenAt).toBeLessThanOrEqual(SESSION_TIMEOUT + 1500);
    frozen.signal("SIGCONT");
    await frozen.waitFor((m) => m.type === "session" && m.state === "expired", 5000);
    await frozen.waitFor((m) => m.type === "rejoined", 5000);
    await recorder.waitFor((e, at) => e.type === "join" && e.member.id === "frozen" && at >= left.at, 5000);
  });

  it("a graceful close publishes leave{left} at once and removes the session", async () => {
    const namespace = randomId("ns");
    const url = urlFor(server.url, { namespace, sessionTimeout: SESSION_TIMEOUT });
    const watcher = await coordinator(url, "watcher");
    const member = child(url, "closer", ["g", "h"]);
    await member.waitFor((m) => m.type === "ready", 10_000);
    const recorder = new Recorder(watcher, "g");
    cleanups.push(async () => recorder.stop());
    await recorder.waitFor((e) => e.type === "snapshot" && e.members.length === 1, 5000);
    const closedAt = Date.now();
    member.send("close");
    const left = await recorder.waitFor((e) => e.type === "leave", 5000);
    expect(left.event).toMatchObject({ memberId: "closer", reason: "left" });
    expect(left.at - closedAt).toBeLessThan(1000);
    expect(await admin.zcard(`rollcall:{${namespace}}:sessions`)).toBe(1);
    expect((await watcher.members("h")).map((m) => m.id)).toEqual([]);
  });
});

describe("the session", () => {
  it("is one key with a TTL and one deadline on the server's clock, whatever the number of memberships", async () => {
    const namespace = randomId("ns");
    const url = urlFor(server.url, { namespace, sessionTimeout: SESSION_TIMEOUT });
    const coord = await coordinator(url, "many");
    for (let i = 0; i < 20; i++) await coord.join(`g${i}`, { createGroup: true });
    const prefix = `rollcall:{${namespace}}:`;
    // RESP3 answers WITHSCORES with [member, score] pairs.
    const sessions = (
      (await admin.call("ZRANGE", `${prefix}sessions`, "0", "-1", "WITHSCORES")) as string[][]
    ).flat();
    expect(sessions).toHaveLength(2);
    const [id = "", deadline = "0"] = sessions;
    const [seconds = 0, micros = 0] = (await admin.time()).map(Number);
    const serverNow = Number(seconds) * 1000 + Number(micros) / 1000;
    expect(Number(deadline) - serverNow).toBeGreaterThan(0);
    expect(Number(deadline) - serverNow).toBeLessThanOrEqual(SESSION_TIMEOUT);
    const ttl = await admin.pttl(`${prefix}s/${id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(SESSION_TIMEOUT);
    expect(await admin.scard(`${prefix}s/${id}/g`)).toBe(20);
    // Every key lives under the namespace's prefix (nothing else in this database belongs to it).
    const all = await admin.keys("*");
    expect(all.filter((k) => k.includes(namespace)).every((k) => k.startsWith(prefix))).toBe(true);
  });

  it("is refreshed by one script call per refresh, not one per membership", async () => {
    const namespace = randomId("ns");
    const url = urlFor(server.url, { namespace, sessionTimeout: SESSION_TIMEOUT });
    const coord = await coordinator(url, "counted");
    for (let i = 0; i < 20; i++) await coord.join(`g${i}`, { createGroup: true });
    const before = await scriptCalls();
    const window = SESSION_TIMEOUT * 2;
    await new Promise((r) => setTimeout(r, window));
    const calls = (await scriptCalls()) - before;
    // Other files' servers are separate; in this one only this coordinator (and the admin) is active.
    // One refresh every T/3 (late timers on a busy machine only make fewer); one per membership would be 20×.
    const refreshes = window / (SESSION_TIMEOUT / 3);
    expect(calls).toBeGreaterThanOrEqual(refreshes / 2);
    expect(calls).toBeLessThanOrEqual(refreshes + 2);
  });
});

async function scriptCalls(): Promise<number> {
  const info = await admin.info("commandstats");
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) total += Number(match[2]);
  return total;
}
