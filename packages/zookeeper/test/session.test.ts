import { describe, expect, it } from "vitest";
import { driverFor, eventually, fresh, sessionRecorder, standaloneServer } from "./helpers.js";

// This file crashes and restarts its own server. (A member process frozen past its timeout, then
// thawed — `expired`, re-opened, re-joined — is the conformance kit's liveness suite.)
const zk = standaloneServer();
const drivers = zk.drivers;

async function opened(sessionTimeout: number) {
  const namespace = fresh("s");
  const driver = driverFor(zk.server.url, { namespace, sessionTimeout });
  const listener = sessionRecorder();
  await driver.open(listener, AbortSignal.timeout(10_000));
  drivers.push(driver);
  return { driver, listener };
}

describe("session", () => {
  it("reports the negotiated timeout, and renewed(sentAt) at least every sessionTimeout/3", async () => {
    const { driver, listener } = await opened(1500);
    expect(driver.sessionTimeout).toBe(1500);
    const from = performance.now();
    await new Promise((r) => setTimeout(r, 2100));
    const renewals = listener.renewals.filter((t) => t >= from - 600);
    expect(renewals.length).toBeGreaterThanOrEqual(4);
    const gaps = renewals.slice(1).map((t, i) => t - (renewals[i] as number));
    expect(Math.max(...gaps)).toBeLessThan(500 + 150);
    expect(listener.states).toEqual([]);
  });

  it("a server restart within the timeout: suspended, then connected with the same session and members", async () => {
    const { driver, listener } = await opened(6000);
    await driver.createGroup("g");
    const joined = await driver.join("g", "a", { n: 1 });
    await zk.server.nodes[0]?.restart();
    await eventually(() => listener.states.includes("connected"), 15_000, "connected again");
    expect(listener.states).toEqual(["suspended", "connected"]);
    const { members } = await driver.members("g");
    expect(members.map((m) => [m.id, m.seq])).toEqual([["a", joined.seq]]);
    await driver.update("g", "a", { n: 2 });
    await driver.leave("g", "a");
  });

  it("comes back from five server crashes in a row with the same session, also with one host in the URL", async () => {
    // The binding can stop driving a handle after a refused reconnect; the driver's watchdog then
    // replaces the handle and resumes the session. Each round here is a fresh chance to hit that.
    const { driver, listener } = await opened(6000);
    await driver.createGroup("g");
    const joined = await driver.join("g", "a", {});
    const snapshot = await driver.members("g");
    const events: string[] = [];
    await driver.watch("g", snapshot.revision, {
      event: (e) => events.push(e.type === "leave" ? `leave ${e.memberId}` : `${e.type} ${e.member.id}`),
      resync: (why) => events.push(`resync ${why}`),
    });
    const node = zk.server.nodes[0];
    for (let round = 1; round <= 5; round++) {
      await node?.kill();
      await eventually(
        () => listener.states.length === 2 * round - 1,
        5000,
        () => `suspended (${listener.states})`,
      );
      await node?.start();
      await eventually(
        () => listener.states.length === 2 * round,
        6000,
        () => `connected again (${listener.states})`,
      );
      await driver.join("g", `b${round}`, {});
    }
    expect(listener.states).toEqual(Array.from({ length: 5 }, () => ["suspended", "connected"]).flat());
    expect((await driver.members("g")).members.find((m) => m.id === "a")?.seq).toBe(joined.seq);
    await eventually(
      () => events.length === 5,
      5000,
      () => `five joins (${events})`,
    );
    expect(events).toEqual(["join b1", "join b2", "join b3", "join b4", "join b5"]);
  }, 60_000);
});
