import { type Coordinator, connect, type MembershipEvent, Partitioner, ServiceGroup } from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";
import { afterEach, describe, expect, it } from "vitest";

let n = 0;
const open: Coordinator[] = [];
async function coordinator(
  id = `m${++n}-${process.pid}`,
  url = `memory://core-${process.pid}?sessionTimeout=600&retryInterval=50`,
) {
  const coord = await connect(url, { memberId: id });
  open.push(coord);
  return coord;
}
async function until(check: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe("ServiceGroup", () => {
  it("joins, and answers isUp/getAll from a cached view that follows crashes", async () => {
    const a = await coordinator();
    const b = await coordinator();
    const sgA = new ServiceGroup(a);
    const sgB = new ServiceGroup(b);
    await sgA.join("sg-compute", { cpus: 8 });
    await sgB.join("sg-compute");
    expect(await sgA.getAll("sg-compute")).toEqual([a.memberId, b.memberId]);
    expect(await sgA.isUp("sg-compute", b.memberId)).toBe(true);
    memorySessions.expire(b.memberId);
    const view = await sgA.view("sg-compute");
    await until(() => !view.isUp(b.memberId), "b down");
    expect(await sgA.isUp("sg-compute", b.memberId)).toBe(false);
    await until(() => view.isUp(b.memberId), "b re-joined by itself");
    await sgA.close();
  });
});

describe("Partitioner on a live view", () => {
  it("rebalances when a member joins and when one leaves", async () => {
    const a = await coordinator();
    const b = await coordinator();
    await a.join("workers", { createGroup: true });
    const partitioner = new Partitioner(await a.view("workers"), { self: a.memberId });
    let rebalances = 0;
    partitioner.on("rebalance", () => rebalances++);
    const keys = Array.from({ length: 100 }, (_, i) => `job-${i}`);
    expect(keys.every((k) => partitioner.belongsToSelf(k))).toBe(true);
    await b.join("workers", { metadata: { weight: 3 } });
    await until(() => rebalances === 1, "rebalance on join");
    const mine = keys.filter((k) => partitioner.belongsToSelf(k)).length;
    expect(mine).toBeGreaterThan(5);
    expect(mine).toBeLessThan(60);
    await b.leave("workers");
    await until(() => rebalances === 2, "rebalance on leave");
    expect(keys.every((k) => partitioner.belongsToSelf(k))).toBe(true);
    partitioner.close();
  });
});

describe("sessions on memory://", () => {
  it("a disconnect suspends the session and ends leadership at once; reconnecting restores it", async () => {
    const a = await coordinator();
    const states: string[] = [];
    a.on("session", (s) => states.push(s));
    const lead = await a.election("dc").campaign();
    memorySessions.disconnect(a.memberId);
    expect(a.state).toBe("suspended");
    expect(lead.signal.aborted).toBe(true);
    expect(lead.isValid()).toBe(false);
    memorySessions.reconnect(a.memberId);
    expect(a.state).toBe("connected");
    const again = await a.election("dc").campaign();
    expect(again.token).toBe(lead.token);
    expect(again.isValid()).toBe(true);
    expect(states).toEqual(["suspended", "connected"]);
  });

  it("a disconnect that outlasts the timeout ends in expired, then re-open and re-join", async () => {
    const a = await coordinator();
    const watcher = await coordinator();
    await a.join("dc2", { createGroup: true });
    const view = await watcher.view("dc2");
    const rejoined = new Promise<string[]>((resolve) => a.on("rejoined", resolve));
    memorySessions.disconnect(a.memberId);
    await until(() => !view.isUp(a.memberId), "a expired at the server");
    memorySessions.reconnect(a.memberId);
    expect(await rejoined).toEqual(["dc2"]);
    await until(() => view.isUp(a.memberId), "a back in the view");
  });

  it("a watcher whose own session expired resyncs: missed changes are reported, then a snapshot", async () => {
    const watcher = await coordinator();
    const a = await coordinator();
    const b = await coordinator();
    await a.join("rs", { createGroup: true });
    const events: MembershipEvent[] = [];
    const controller = new AbortController();
    const done = (async () => {
      for await (const e of watcher.watch("rs", { signal: controller.signal })) events.push(e);
    })();
    await until(() => events.length === 1, "snapshot");
    memorySessions.freeze(watcher.memberId);
    await b.join("rs");
    await a.leave("rs");
    await new Promise((r) => setTimeout(r, 900));
    memorySessions.thaw(watcher.memberId);
    await until(() => events.filter((e) => e.type === "snapshot").length === 2, "a resync snapshot", 8000);
    const last = events.filter((e) => e.type === "snapshot").at(-1);
    expect(last?.type === "snapshot" && last.members.map((m) => m.id)).toEqual([b.memberId]);
    const ids = new Set<string>();
    for (const e of events) {
      if (e.type === "snapshot") {
        ids.clear();
        for (const m of e.members) ids.add(m.id);
      } else if (e.type === "join") ids.add(e.member.id);
      else if (e.type === "leave") ids.delete(e.memberId);
    }
    expect([...ids]).toEqual([b.memberId]);
    controller.abort();
    await done;
  });
});

describe("public objects", () => {
  it("show their toString() in util.inspect() and JSON, never the driver behind them", async () => {
    const { inspect } = await import("node:util");
    const a = await coordinator();
    await a.join("g", { createGroup: true });
    const view = await a.view("g");
    const election = a.election("e");
    const leadership = await election.campaign();
    const lock = a.lock("l");
    for (const object of [a, view, election, leadership, lock]) {
      expect(inspect(object, { depth: 10 })).toBe(String(object));
      expect(JSON.stringify(object)).toBe(JSON.stringify(String(object)));
    }
    expect(String(a)).toMatch(/^Coordinator\(memory /);
    await leadership.resign();
    await view.close();
  });
});
