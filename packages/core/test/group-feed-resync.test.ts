import { afterEach, describe, expect, it } from "vitest";
import { type Coordinator, connect, type MembershipEvent } from "../src/index.js";
import { drivers, server } from "./support/register.js";

const open: Coordinator[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe("a watch after lost continuity", () => {
  it("reports what re-listing found as events marked resync (a join below a seq seen before), then a snapshot", async () => {
    const watcher = await connect("test://x?sessionTimeout=2000", { memberId: "resync-watcher" });
    const member = await connect("test://x?sessionTimeout=2000", { memberId: "resync-member" });
    open.push(watcher, member);
    await watcher.createGroup("resync");
    const events: MembershipEvent[] = [];
    const iterator = watcher.watch("resync")[Symbol.asyncIterator]();
    const next = async () => {
      const { value } = await iterator.next();
      events.push(value as MembershipEvent);
      return value as MembershipEvent;
    };
    expect((await next()).type).toBe("snapshot");
    const live = await member.join("resync");
    expect(await next()).toEqual({ type: "join", group: "resync", member: live });
    // A member the watcher never hears of live, with a seq below the one it saw: a change missed in a gap.
    const hidden = { ...live, id: "hidden", seq: live.seq - 1n };
    server.groups.get("resync")?.set("hidden", { member: hidden, session: 0 });
    drivers.get("resync-watcher")?.expire(); // the session is re-opened: the feed re-lists
    const found = await next();
    expect(found).toEqual({ type: "join", group: "resync", member: hidden, resync: true });
    const snapshot = await next();
    expect(snapshot.type).toBe("snapshot");
    expect(snapshot.type === "snapshot" && snapshot.members.map((m) => m.id).sort()).toEqual([
      "hidden",
      "resync-member",
    ]);
    await iterator.return?.();
  });
});
