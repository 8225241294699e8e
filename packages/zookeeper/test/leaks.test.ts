import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Coordinator, connect, type Leadership } from "@rollcall/core";
import type { ZooKeeperDriver } from "@rollcall/zookeeper";
import { describe, expect, it } from "vitest";
import { driverFor, fresh, sessionRecorder, standaloneServer, watchRecorder } from "./helpers.js";

const zk = standaloneServer();
const drivers = zk.drivers;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function opened(namespace: string): Promise<ZooKeeperDriver> {
  const driver = driverFor(zk.server.url, { namespace });
  await driver.open(sessionRecorder(), AbortSignal.timeout(10_000));
  drivers.push(driver);
  return driver;
}

/** How many of `refs` are still alive after full collections. */
async function survivors(refs: WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
  }
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

/** The number of watch listeners the driver's session keeps (white box: for diagnosis only). */
function listeners(driver: ZooKeeperDriver): number {
  return (driver as unknown as { session: { watchListeners: number } }).session.watchListeners;
}

// The binding (npm `zookeeper` 7.3.0) keeps every watcher function passed to its `aw_*` methods for the
// life of the process; whatever such a function captured — an election candidate's wait, a closed group
// watch — could never be collected (the soak found every leadership object ever created still alive).
describe("nothing of an ended wait or a closed watch stays reachable", () => {
  it("awaitGone waits that were abandoned (aborted) leave nothing behind", async () => {
    const namespace = fresh("l");
    const member = await opened(namespace);
    const waiter = await opened(namespace);
    await member.createGroup("g");
    await member.join("g", "leader", {});
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 50; i++) {
      // A candidate waits on its predecessor, then gives up (its campaign times out, it resigns): the
      // predecessor's znode never changes, so the watch never fires.
      const controller = new AbortController();
      const big = { payload: new Array(1000).fill(i) };
      refs.push(new WeakRef(big));
      const wait = waiter.awaitGone("g", "leader", controller.signal).catch(() => big.payload.length);
      await new Promise((r) => setTimeout(r, 2));
      controller.abort(new Error("gave up"));
      await wait;
    }
    expect(await survivors(refs)).toBe(0);
    expect(listeners(waiter)).toBe(0);
  });

  it("awaitGone waits that ended leave nothing behind, and the session's watches keep working", async () => {
    const namespace = fresh("l");
    const member = await opened(namespace);
    const waiter = await opened(namespace);
    await member.createGroup("g");
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 20; i++) {
      const incarnation = await member.join("g", "m", { i });
      const big = { payload: new Array(1000).fill(i) };
      refs.push(new WeakRef(big));
      const waits = Promise.all([
        waiter
          .awaitGone("g", "m", AbortSignal.timeout(10_000), incarnation.seq)
          .then(() => big.payload.length),
        waiter.awaitGone("g", "m", AbortSignal.timeout(10_000)),
      ]);
      await new Promise((r) => setTimeout(r, 2));
      await member.leave("g", "m");
      await waits;
    }
    expect(await survivors(refs)).toBe(0);
    expect(listeners(waiter)).toBe(0);
  });

  it("a closed group watch leaves nothing behind", async () => {
    const namespace = fresh("l");
    const member = await opened(namespace);
    const watcher = await opened(namespace);
    await member.createGroup("g");
    // In a function of its own, so that no frame of the test holds the last watch's objects.
    const cycle = async (i: number): Promise<WeakRef<object>> => {
      const snapshot = await watcher.members("g");
      const recorder = watchRecorder();
      const handle = await watcher.watch("g", snapshot.revision, recorder);
      await member.join("g", `m${i}`, {});
      await member.leave("g", `m${i}`);
      const deadline = performance.now() + 5000;
      while (recorder.events.length < 2 && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      expect(recorder.lines).toEqual([`join m${i}`, `leave m${i} (left)`]);
      await handle.close();
      return new WeakRef(recorder);
    };
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 20; i++) refs.push(await cycle(i));
    // Let the last rounds of the closed watches finish.
    await new Promise((r) => setTimeout(r, 100));
    expect(await survivors(refs)).toBe(0);
    expect(listeners(watcher)).toBe(0);
  });

  it("leaderships that ended — resigned, handed over, locks released — are collected", async () => {
    const url = `${zk.server.url}/${fresh("l")}?sessionTimeout=2000`;
    const coords: Coordinator[] = [];
    try {
      for (let i = 0; i < 3; i++) coords.push(await connect(url, { memberId: `c${i}` }));
      const [a, b, c] = coords as [Coordinator, Coordinator, Coordinator];
      // In a function of its own, so that no frame of the test holds the last round's objects.
      const round = async (): Promise<WeakRef<object>[]> => {
        const first = await a.election("e").campaign();
        // b and c queue up behind a (each waiting on its predecessor); a resigns, then whoever leads.
        const queued = [b.election("e").campaign(), c.election("e").campaign()];
        await new Promise((r) => setTimeout(r, 5));
        await first.resign();
        const winner = await Promise.race(queued.map((p, k) => p.then((leadership) => ({ k, leadership }))));
        const next = winner.leadership;
        await next.resign();
        const last = await (queued[1 - winner.k] as Promise<Leadership>);
        await last.resign();
        const lock = await a.lock("l").acquire({ timeout: 5000 });
        const waiting = b.lock("l").acquire({ timeout: 5000 });
        await new Promise((r) => setTimeout(r, 5));
        await lock.resign();
        const taken = await waiting;
        await taken.resign();
        return [first, next, last, lock, taken].map((l) => new WeakRef(l));
      };
      const refs: WeakRef<object>[] = [];
      for (let i = 0; i < 15; i++) refs.push(...(await round()));
      await new Promise((r) => setTimeout(r, 200));
      expect(await survivors(refs)).toBe(0);
    } finally {
      await Promise.all(coords.map((coord) => coord.close()));
    }
  });
});
