import { connect, type Member } from "@rollcall/core";
import { startZooKeeper, type ZooKeeperServer, zookeeperFourLetterWord } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/zookeeper";
import { driverFor, fresh, sessionRecorder } from "./helpers.js";

const MEMBERS = 300;
let server: ZooKeeperServer;
beforeAll(async () => {
  server = await startZooKeeper({ nodes: 1 });
}, 60_000);
afterAll(() => server?.close());

/** Requests the server has received from all clients so far (`srvr`). */
async function received(): Promise<number> {
  const node = server.nodes[0];
  if (!node) throw new Error("no server node");
  const answer = await zookeeperFourLetterWord(node.port, "srvr", 2000, node.host);
  const match = /Received: (\d+)/.exec(answer);
  if (!match) throw new Error(`no Received: line in ${answer}`);
  return Number(match[1]);
}

function comparable(members: readonly Member[]): unknown[] {
  return members.map((m) => ({
    id: m.id,
    group: m.group,
    metadata: m.metadata,
    seq: m.seq,
    joinedAt: m.joinedAt.getTime(),
    updatedAt: m.updatedAt.getTime(),
  }));
}

describe("a large group's snapshot is read with multi-reads", () => {
  it(`members() of ${MEMBERS} members is what was joined and updated, in seq order, in a few requests — for the owner and for an anonymous reader`, async () => {
    const namespace = fresh("bulk");
    const owned = server.url.replace("zookeeper://", "zookeeper://alice:s3cret@");
    const joiner = driverFor(owned, { namespace, sessionTimeout: 10_000 });
    await joiner.open(sessionRecorder(), AbortSignal.timeout(10_000));
    try {
      await joiner.createGroup("compute");
      const expected = new Map<string, Member>();
      for (let from = 0; from < MEMBERS; from += 100) {
        const joined = await Promise.all(
          Array.from({ length: Math.min(100, MEMBERS - from) }, (_, k) =>
            joiner.join("compute", `compute-${from + k}`, { i: from + k, text: "é ✓" }),
          ),
        );
        for (const member of joined) expected.set(member.id, member);
      }
      for (const i of [7, 150, 299]) {
        expected.set(`compute-${i}`, await joiner.update("compute", `compute-${i}`, { i, updated: true }));
      }
      const want = comparable([...expected.values()].sort((a, b) => (a.seq < b.seq ? -1 : 1)));

      for (const [who, url] of [
        ["alice (the owner, with credentials)", `${owned}/${namespace}`],
        ["an anonymous reader", `${server.url}/${namespace}`],
      ] as const) {
        await using reader = await connect(url, { memberId: fresh("reader") });
        const before = await received();
        const members = await reader.members("compute");
        const requests = (await received()) - before;
        expect(comparable(members), who).toEqual(want);
        // One by one, it would be a listing plus a read per member (300); with multi-reads: the listing and
        // its sync, a connection's handshake, sync and one multi-read per 1,000 members, the close — plus
        // whatever pings the test's sessions sent meanwhile.
        expect(requests, `${who}: requests the server received`).toBeLessThan(MEMBERS / 3);
        const view = await reader.view("compute");
        expect(comparable(view.members()), `${who}: a view`).toEqual(want);
        await view.close();
      }
    } finally {
      await joiner.close();
    }
  }, 60_000);
});
