import { describe, expect, it } from "vitest";
import { connect, type Member } from "../src/index.js";
import "./support/register.js";

let n = 0;
const id = () => `i${++n}`;

/** The next value an async iterator yields whose ids are `ids`, or a failure after `timeout` ms. */
async function nextQueue(
  iterator: AsyncIterator<Member[]>,
  ids: string[],
  timeout = 5000,
): Promise<Member[]> {
  const deadline = Date.now() + timeout;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const left = deadline - Date.now();
    const step = await Promise.race([
      iterator.next(),
      new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), Math.max(left, 0));
      }),
    ]);
    clearTimeout(timer);
    if (step === "timeout") throw new Error(`no candidate queue ${ids.join(",")} within ${timeout} ms`);
    if (step.done) throw new Error("the observation ended");
    if (step.value.map((m) => m.id).join(",") === ids.join(",")) return step.value;
  }
}

describe("listing and inspecting elections and locks", () => {
  it("elections() and locks() list what groups() hides, without prefixes, sorted", async () => {
    const a = await connect("test://x", { memberId: id() });
    const leadership = await a.election("list-b").campaign();
    await a.election("list-a").campaign();
    const held = await a.lock("list-lock").acquire();
    await a.join("list-group", { createGroup: true });

    expect(await a.elections()).toEqual(expect.arrayContaining(["list-a", "list-b"]));
    const elections = await a.elections();
    expect(elections).toEqual([...elections].sort());
    expect(elections).not.toContain("list-lock");
    expect(await a.locks()).toContain("list-lock");
    expect(await a.locks()).not.toContain("list-a");
    const groups = await a.groups();
    expect(groups).toContain("list-group");
    expect(groups.some((g) => g.includes("list-a") || g.includes("list-lock"))).toBe(false);

    await leadership.resign();
    await held.resign();
    await a.close();
  });

  it("a lock's holder() and candidates() show the holder, then the waiters in order, on any coordinator", async () => {
    const a = await connect("test://x", { memberId: id() });
    const b = await connect("test://x", { memberId: id() });
    const c = await connect("test://x", { memberId: id() });
    const observer = await connect("test://x", { memberId: id() });
    const lock = observer.lock("inspect");
    expect(await lock.holder()).toBeUndefined();
    expect(await lock.candidates()).toEqual([]);

    const held = await a.lock("inspect").acquire();
    const waitingB = b.lock("inspect").acquire();
    const queued = observer.lock("inspect").observeCandidates()[Symbol.asyncIterator]();
    await nextQueue(queued, [a.memberId, b.memberId]);
    const waitingC = c.lock("inspect").acquire();
    const three = await nextQueue(queued, [a.memberId, b.memberId, c.memberId]);
    expect(three[0]?.seq).toBe(held.token);

    const holder = await lock.holder();
    expect(holder?.id).toBe(a.memberId);
    expect(holder?.seq).toBe(held.token);
    expect((await lock.candidates()).map((m) => m.id)).toEqual([a.memberId, b.memberId, c.memberId]);

    await held.resign();
    const heldB = await waitingB;
    await nextQueue(queued, [b.memberId, c.memberId]);
    expect((await lock.holder())?.seq).toBe(heldB.token);
    expect(heldB.token > held.token).toBe(true);

    await queued.return?.();
    await heldB.resign();
    await (await waitingC).resign();
    for (const coord of [a, b, c, observer]) await coord.close();
  });

  it("an election's observeCandidates() follows the queue, not only the seat holders", async () => {
    const a = await connect("test://x", { memberId: id() });
    const b = await connect("test://x", { memberId: id() });
    const observer = await connect("test://x", { memberId: id() });
    const abort = new AbortController();
    const queue = observer
      .election("queue", { seats: 1 })
      .observeCandidates({ signal: abort.signal })
      [Symbol.asyncIterator]();
    await nextQueue(queue, []);
    const leadership = await a.election("queue").campaign();
    await nextQueue(queue, [a.memberId]);
    // b only queues behind a: the seat holders do not change, the queue does.
    const waiting = b.election("queue").campaign();
    await nextQueue(queue, [a.memberId, b.memberId]);
    await leadership.resign();
    await nextQueue(queue, [b.memberId]);
    abort.abort();
    expect((await queue.next()).done).toBe(true);
    await (await waiting).resign();
    for (const coord of [a, b, observer]) await coord.close();
  });

  it("observeCandidates() refuses bad options before any I/O", async () => {
    const a = await connect("test://x", { memberId: id() });
    expect(() => a.lock("bad").observeCandidates({ signal: "no" as unknown as AbortSignal })).toThrow(
      /signal/,
    );
    expect(() => a.election("bad").observeCandidates(42 as unknown as { signal?: AbortSignal })).toThrow(
      /options/,
    );
    await a.close();
    await expect(a.locks()).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    await expect(a.elections()).rejects.toMatchObject({ code: "NOT_CONNECTED" });
  });
});
