import { eventually } from "@rollcall/conformance";
import type { Coordinator, GroupView, MembershipEvent } from "@rollcall/core";
import { EtcdDriver } from "@rollcall/etcd";
import { type EtcdServer, startEtcd, TcpProxy } from "@rollcall/servers";
import type { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Coordinators, driverConfig, freshNamespace, rawClient, urlFor } from "./support/etcd.js";

let server: EtcdServer;
let raw: Etcd3;
let proxy: TcpProxy;
let ns: string;
const coords = new Coordinators();

beforeAll(async () => {
  server = await startEtcd({ nodes: 1 });
  raw = rawClient(server.hosts);
  proxy = await TcpProxy.start(server.nodes[0]?.port ?? 0);
});
afterAll(async () => {
  await proxy?.close();
  raw?.close();
  await server?.close();
});
beforeEach(() => {
  ns = freshNamespace();
  proxy.restore();
});
afterEach(() => coords.closeAll());

function show(e: MembershipEvent): string {
  if (e.type === "snapshot") return `snapshot[${e.members.map((m) => m.id).join(",")}]`;
  if (e.type === "leave") return `leave ${e.memberId} (${e.reason})`;
  return `${e.type} ${e.member.id}`;
}

/**
 * A watcher that reaches etcd only through the proxy (its session lives 10 s, longer than any cut
 * here, so only its watch is affected), a view of group `g` recording every change, and a member
 * `stay` that is there before the cut.
 */
async function setup(): Promise<{ view: GroupView; events: string[]; direct: string; stay: Coordinator }> {
  const direct = urlFor(server.url, ns);
  const watcher = await coords.connect(
    urlFor(`etcd://127.0.0.1:${proxy.port}`, ns, { sessionTimeout: 10_000 }),
    "w",
  );
  const stay = await coords.connect(direct, "stay");
  await stay.join("g", { createGroup: true });
  const view = await watcher.view("g");
  const events: string[] = [];
  view.on("change", (e) => events.push(show(e)));
  await eventually(() => view.has("stay"), 5000, "stay in the view");
  return { view, events, direct, stay };
}

async function currentRevision(): Promise<string> {
  return (await raw.kv.range({ key: Buffer.from("-"), count_only: true })).header.revision;
}

describe("etcd watches across a reconnect", () => {
  it("resume from the last revision seen: every change made while cut off arrives as itself", async () => {
    const { view, events, direct, stay } = await setup();
    proxy.cut();
    const flash = await coords.connect(direct, "flash");
    await flash.join("g");
    await flash.leave("g");
    await stay.updateMetadata("g", { v: 2 });
    const gone = await coords.connect(direct, "gone");
    await gone.join("g");
    await gone.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]); // cut off indeed
    proxy.restore();
    await eventually(() => events.length >= 5, 10_000, `the missed changes (so far ${events.join("; ")})`);
    // A re-list would have hidden flash and gone entirely and reported leaves as "unknown".
    expect(events).toEqual([
      "join flash",
      "leave flash (left)",
      "update stay",
      "join gone",
      "leave gone (left)",
    ]);
    expect(view.members().map((m) => m.id)).toEqual(["stay"]);
  });

  it("compaction while cut off: the watcher re-lists, diffs, and converges to members()", async () => {
    const { view, events, direct, stay } = await setup();
    proxy.cut();
    const flash = await coords.connect(direct, "flash");
    await flash.join("g");
    await flash.leave("g");
    const late = await coords.connect(direct, "late");
    await late.join("g", { metadata: { late: true } });
    await stay.leave("g");
    await raw.kv.compact({ revision: await currentRevision(), physical: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]); // cut off indeed
    proxy.restore();
    const listed = async () => (await late.members("g")).map((m) => m.id).sort();
    await eventually(
      async () =>
        JSON.stringify(
          view
            .members()
            .map((m) => m.id)
            .sort(),
        ) === JSON.stringify(await listed()),
      10_000,
      "the view to match members()",
    );
    await eventually(() => events.some((e) => e.startsWith("snapshot")), 5000, "the resync snapshot");
    // flash's join and leave were compacted away: the diff reports only what changed overall.
    expect(events).toEqual(["leave stay (unknown)", "join late", "snapshot[late]"]);
  });

  it("compaction during a busy watch: the view still converges to members()", async () => {
    const { view, direct } = await setup();
    const churn = await Promise.all([0, 1, 2, 3, 4].map((i) => coords.connect(direct, `c${i}`)));
    for (let round = 0; round < 6; round++) {
      if (round === 3) proxy.cut();
      await Promise.all(
        churn.map((c, i) => ((round + i) % 2 === 0 ? c.join("g") : c.leave("g").catch(() => {}))),
      );
      await raw.kv.compact({ revision: await currentRevision() });
      if (round === 4) proxy.restore();
    }
    await eventually(
      async () =>
        JSON.stringify(
          view
            .members()
            .map((m) => m.id)
            .sort(),
        ) === JSON.stringify((await churn[0]?.members("g"))?.map((m) => m.id).sort()),
      10_000,
      "the view to match members()",
    );
  });
});

describe("awaitGone(group, memberId, signal, seq)", () => {
  async function openDriver(): Promise<EtcdDriver> {
    const driver = new EtcdDriver(driverConfig(server.url, ns));
    await driver.open({ state() {}, renewed() {} }, AbortSignal.timeout(10_000));
    return driver;
  }

  function settles(promise: Promise<void>, ms: number): Promise<"settled" | "pending"> {
    return Promise.race([
      promise.then(() => "settled" as const),
      new Promise<"pending">((r) => setTimeout(() => r("pending"), ms)),
    ]);
  }

  it("waits while that incarnation is there, resolves when it leaves even if the id re-joins at once", async () => {
    const [holder, waiter] = await Promise.all([openDriver(), openDriver()]);
    try {
      await holder.createGroup("g");
      const first = await holder.join("g", "x", {});
      const controller = new AbortController();
      const gone = waiter.awaitGone("g", "x", controller.signal, first.seq);
      expect(await settles(gone, 300)).toBe("pending");
      await holder.leave("g", "x");
      await holder.join("g", "x", {});
      expect(await settles(gone, 5000)).toBe("settled");
      controller.abort();
    } finally {
      await Promise.all([holder.close(), waiter.close()]);
    }
  });

  it("resolves at once for an incarnation already replaced, or a member already gone", async () => {
    const [holder, waiter] = await Promise.all([openDriver(), openDriver()]);
    try {
      await holder.createGroup("g");
      const first = await holder.join("g", "x", {});
      await holder.leave("g", "x");
      const second = await holder.join("g", "x", {});
      expect(second.seq > first.seq).toBe(true);
      const signal = AbortSignal.timeout(5000);
      await waiter.awaitGone("g", "x", signal, first.seq);
      await waiter.awaitGone("g", "nobody", signal);
      expect(await settles(waiter.awaitGone("g", "x", signal, second.seq), 300)).toBe("pending");
    } finally {
      await Promise.all([holder.close(), waiter.close()]);
    }
  });

  it("rejects with the signal's reason when aborted", async () => {
    const [holder, waiter] = await Promise.all([openDriver(), openDriver()]);
    try {
      await holder.createGroup("g");
      const member = await holder.join("g", "x", {});
      const controller = new AbortController();
      const gone = waiter.awaitGone("g", "x", controller.signal, member.seq);
      controller.abort(new Error("stop waiting"));
      await expect(gone).rejects.toThrow("stop waiting");
    } finally {
      await Promise.all([holder.close(), waiter.close()]);
    }
  });
});
