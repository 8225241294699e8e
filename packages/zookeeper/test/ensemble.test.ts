import { connect, type MembershipEvent } from "@rollcall/core";
import { startZooKeeper, type ZooKeeperServer } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/zookeeper";
import { eventually, fresh, rawClient } from "./helpers.js";

let server: ZooKeeperServer;
beforeAll(async () => {
  server = await startZooKeeper({ nodes: 3 });
}, 60_000);
afterAll(() => server?.close());

describe("3-node ensemble", () => {
  it("a watcher cut off from the ensemble gets every change made meanwhile once it is back, with its session", async () => {
    const [one, two, three] = server.nodes;
    if (!one || !two || !three) throw new Error("three nodes expected");
    const namespace = fresh("e");
    // The watcher only knows node 1; everybody else only nodes 2 and 3.
    const others = `zookeeper://127.0.0.1:${two.port},127.0.0.1:${three.port}/${namespace}`;
    await using watcher = await connect(
      `zookeeper://127.0.0.1:${one.port}/${namespace}?sessionTimeout=15000`,
      {
        memberId: "watcher",
      },
    );
    const sessions: string[] = [];
    watcher.on("session", (state) => sessions.push(state));
    await using stays = await connect(others, { memberId: "stays" });
    await stays.join("compute", { createGroup: true, metadata: { v: 0 } });
    // A member without rollcall's leave intent: when its session ends, watchers see an expiry.
    const raw = await rawClient(`127.0.0.1:${two.port}`);
    expect((await raw.call("a_create", `/${namespace}/compute/ghost`, "{}", 1)).rc).toBe(0);
    // Node 1 may be behind node 2 for a moment (ZooKeeper reads are sequentially consistent).
    await eventually(async () => (await watcher.groups()).includes("compute"), 10_000, "the group on node 1");
    const view = await watcher.view("compute");
    const changes: string[] = [];
    view.on("change", (e: MembershipEvent) =>
      changes.push(
        e.type === "leave"
          ? `leave ${e.memberId} ${e.reason}`
          : `${e.type} ${"member" in e ? e.member.id : ""}`,
      ),
    );
    await eventually(() => view.size === 2, 10_000, "ghost in the view");
    changes.length = 0;

    await one.kill();
    await eventually(
      () => sessions.includes("suspended"),
      10_000,
      () => `the watcher suspended (${sessions})`,
    );
    // Meanwhile: a join followed at once by a leave, an update, a session that ends.
    await using brief = await connect(others, { memberId: "brief" });
    await brief.join("compute");
    await brief.leave("compute");
    await stays.updateMetadata("compute", { v: 1 });
    raw.close();

    await one.start();
    await eventually(
      () => changes.length >= 4,
      20_000,
      () => `four changes after the reconnect, got ${changes}; sessions ${sessions}`,
    );
    expect(changes).toEqual(["join brief", "leave brief left", "update stays", "leave ghost expired"]);
    expect(sessions).toEqual(["suspended", "connected"]);
    expect(view.get("stays")?.metadata).toEqual({ v: 1 });
  }, 60_000);
});
