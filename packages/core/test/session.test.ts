import { describe, expect, it } from "vitest";
import { connect, type SessionState } from "../src/index.js";
import { drivers, server } from "./support/register.js";

let n = 0;
const id = () => `s${++n}`;

async function until(check: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("session state machine", () => {
  it("connected → suspended → connected keeps the session and its members", async () => {
    const coord = await connect("test://x?sessionTimeout=1000", { memberId: id() });
    const states: [SessionState, SessionState][] = [];
    coord.on("session", (s, p) => states.push([s, p]));
    await coord.join("g1", { createGroup: true });
    const driver = drivers.get(coord.memberId)!;
    driver.suspend();
    expect(coord.state).toBe("suspended");
    driver.resume();
    expect(coord.state).toBe("connected");
    expect(driver.opens).toBe(1);
    expect(states).toEqual([
      ["suspended", "connected"],
      ["connected", "suspended"],
    ]);
    expect((await coord.members("g1")).map((m) => m.id)).toEqual([coord.memberId]);
    await coord.close();
    expect(coord.state).toBe("closed");
  });

  it("no renewal for ¾ of the timeout → suspended, though the driver still says connected; a renewal → connected", async () => {
    const coord = await connect("testmanual://x?sessionTimeout=400", { memberId: id() });
    const states: SessionState[] = [];
    coord.on("session", (s) => states.push(s));
    await until(() => coord.state === "suspended", "suspended after the validity ran out");
    const driver = drivers.get(coord.memberId)!;
    driver.renew();
    expect(coord.state).toBe("connected");
    expect(states).toEqual(["suspended", "connected"]);
    // A driver's own suspension is not undone by a renewal: only its `connected` report does that.
    driver.suspend();
    driver.renew();
    expect(coord.state).toBe("suspended");
    driver.resume();
    expect(coord.state).toBe("connected");
    await coord.close();
  });

  it("expired → re-opens after retryInterval and re-joins every group with its last metadata", async () => {
    const coord = await connect("test://x?sessionTimeout=1000&retryInterval=50", { memberId: id() });
    await coord.join("g2", { createGroup: true, metadata: { v: 1 } });
    await coord.join("g3", { createGroup: true });
    await coord.updateMetadata("g2", { v: 2 });
    const rejoined: string[][] = [];
    coord.on("rejoined", (groups) => rejoined.push(groups));
    const states: SessionState[] = [];
    coord.on("session", (s) => states.push(s));
    const driver = drivers.get(coord.memberId)!;
    driver.expire();
    expect(coord.state).toBe("expired");
    expect(server.groups.get("g2")?.has(coord.memberId)).toBe(false);
    await until(() => rejoined.length === 1, "rejoined");
    expect(rejoined[0]?.sort()).toEqual(["g2", "g3"]);
    expect(states).toEqual(["expired", "connected"]);
    expect(driver.opens).toBe(2);
    expect((await coord.member("g2", coord.memberId)).metadata).toEqual({ v: 2 });
    await coord.close();
  });

  it("a group left before the expiry is not re-joined", async () => {
    const coord = await connect("test://x?retryInterval=20", { memberId: id() });
    await coord.join("g4", { createGroup: true });
    await coord.join("g5", { createGroup: true });
    await coord.leave("g4");
    const rejoined: string[][] = [];
    coord.on("rejoined", (groups) => rejoined.push(groups));
    drivers.get(coord.memberId)?.expire();
    await until(() => rejoined.length === 1, "rejoined");
    expect(rejoined[0]).toEqual(["g5"]);
    await coord.close();
  });

  it("re-opening retries with backoff while the backend refuses", async () => {
    const coord = await connect("test://x?retryInterval=20", { memberId: id() });
    const driver = drivers.get(coord.memberId)!;
    driver.failOpens = 3;
    driver.expire();
    await until(() => coord.state === "connected", "connected again");
    expect(driver.opens).toBe(5);
    await coord.close();
  });

  it("operations while expired reject with NOT_CONNECTED; after close with NOT_CONNECTED too", async () => {
    const coord = await connect("test://x?retryInterval=5000", { memberId: id() });
    drivers.get(coord.memberId)?.expire();
    await expect(coord.members("anything")).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    await coord.close();
    await expect(coord.groups()).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    expect(coord.state).toBe("closed");
  });

  it("close() during a pending re-open stops re-opening", async () => {
    const coord = await connect("test://x?retryInterval=50", { memberId: id() });
    const driver = drivers.get(coord.memberId)!;
    driver.expire();
    await coord.close();
    await new Promise((r) => setTimeout(r, 150));
    expect(driver.opens).toBe(1);
    expect(coord.state).toBe("closed");
  });
});
