import {
  type Coordinator,
  connect,
  type Departure,
  type Reactor,
  RollcallError,
  reactorStatus,
  releaseReactor,
} from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";
import { afterEach, describe, expect, it } from "vitest";

// The reactor on the memory backend: in-process sessions frozen (a hung process: its session expires) and
// closed. The same guarantees with real processes on the server backends are in the conformance kit.
const TIMEOUT = 400;
let n = 0;
const open: Coordinator[] = [];
const frozen: string[] = [];

async function coordinator(store: string, id = `c${++n}`): Promise<Coordinator> {
  const coord = await connect(`memory://${store}?sessionTimeout=${TIMEOUT}&retryInterval=50`, {
    memberId: id,
  });
  open.push(coord);
  return coord;
}

/** A member that hangs: its session expires and it never comes back (thawed only at cleanup). */
function hang(memberId: string): void {
  memorySessions.freeze(memberId);
  frozen.push(memberId);
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 8000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(async () => {
  for (const id of frozen.splice(0)) memorySessions.thaw(id);
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

async function fleet(store: string, size: number): Promise<Coordinator[]> {
  const admin = await coordinator(store, `${store}-admin`);
  await admin.createGroup("compute");
  const members: Coordinator[] = [];
  for (let i = 0; i < size; i++) {
    const m = await coordinator(store, `${store}-node${i}`);
    await m.join("compute", { metadata: { instances: [`vm-${i}-a`, `vm-${i}-b`] } });
    members.push(m);
  }
  return members;
}

describe("reactor", () => {
  it("runs the handler once per departed incarnation, in the acting reactor only", async () => {
    const store = `reactor-once-${process.pid}`;
    await fleet(store, 6);
    const runs: { by: string; departure: Departure; token: bigint }[] = [];
    const reactors: Reactor[] = [];
    for (let i = 0; i < 3; i++) {
      const coord = await coordinator(store, `${store}-reactor${i}`);
      reactors.push(
        await coord.reactor(
          "compute",
          async (departure, { token }) => {
            runs.push({ by: coord.memberId, departure, token });
          },
          { grace: 0, brake: { fraction: 0.6, window: 2000 } },
        ),
      );
    }
    await until(() => reactors.some((r) => r.state === "acting"), "an acting reactor");
    hang(`${store}-node1`);
    hang(`${store}-node4`);
    await until(() => runs.length >= 2, "two handler runs");
    await until(async () => (await reactors[0]?.pending())?.length === 0, "nothing pending");
    expect(runs.map((r) => r.departure.memberId).sort()).toEqual([`${store}-node1`, `${store}-node4`]);
    expect(new Set(runs.map((r) => r.by)).size).toBe(1);
    const acting = reactors.filter((r) => r.state === "acting");
    expect(acting).toHaveLength(1);
    expect(runs[0]?.departure.metadata).toEqual({ instances: ["vm-1-a", "vm-1-b"] });
    expect(runs[0]?.departure.reason).toBe("expired");
    expect(runs[0]?.departure.key).toBe(`${store}-node1@${runs[0]?.departure.seq}`);
  });

  it("a member back within the grace period cancels its action", async () => {
    const store = `reactor-grace-${process.pid}`;
    await fleet(store, 4);
    const runs: string[] = [];
    const coord = await coordinator(store);
    const reactor = await coord.reactor("compute", async (d) => void runs.push(d.key), {
      grace: 3000,
      brake: false,
    });
    await until(() => reactor.state === "acting", "acting");
    // Expired on the server, then the same coordinator re-opens and re-joins (a flapping node).
    memorySessions.expire(`${store}-node2`);
    await until(
      async () => (await coord.members("compute")).some((m) => m.id === `${store}-node2`),
      "re-join",
    );
    await until(async () => (await reactor.pending()).length === 0, "the pending departure cancelled");
    // A hung node does not come back: it is acted upon after the grace.
    hang(`${store}-node3`);
    await until(() => runs.length === 1, "the hung node handled", 10_000);
    // node2's departure, due earlier than node3's, would have run first had it not been cancelled.
    expect(runs[0]).toMatch(new RegExp(`^${store}-node3@`));
  });

  it("a mass departure engages the brake; nothing runs until it is released", async () => {
    const store = `reactor-brake-${process.pid}`;
    await fleet(store, 5);
    const runs: string[] = [];
    const coord = await coordinator(store);
    const braked: unknown[] = [];
    const reactor = await coord.reactor("compute", async (d) => void runs.push(d.memberId), {
      brake: { fraction: 0.5, window: 3000 },
    });
    reactor.on("braked", (status) => braked.push(status));
    await until(() => reactor.state === "acting", "acting");
    for (const i of [0, 1, 2]) hang(`${store}-node${i}`);
    await until(() => reactor.state === "braked", "braked");
    expect(braked).toHaveLength(1);
    const status = await reactorStatus(coord, "compute");
    expect(status.brake?.engaged).toBe(true);
    expect(status.pending.map((d) => d.memberId).sort()).toEqual([0, 1, 2].map((i) => `${store}-node${i}`));
    // Held: give it two windows' worth of hold to (wrongly) act.
    await new Promise((r) => setTimeout(r, 2 * TIMEOUT));
    expect(runs).toEqual([]);
    // An operator releases it from another process (here: another coordinator).
    const operator = await coordinator(store);
    expect(await releaseReactor(operator, "compute")).toBe(true);
    await until(() => runs.length === 3, "the three handled after release");
    expect(reactor.state).toBe("acting");
  });

  it("a new actor completes a departure the old one had pending, and a stale actor cannot record", async () => {
    const store = `reactor-failover-${process.pid}`;
    await fleet(store, 4);
    const runs: { by: string; key: string; token: bigint }[] = [];
    let block = true;
    const first = await coordinator(store, `${store}-r1`);
    const r1 = await first.reactor(
      "compute",
      async (d, { token }) => {
        runs.push({ by: "r1", key: d.key, token });
        while (block) await new Promise((r) => setTimeout(r, 20));
      },
      { brake: false },
    );
    await until(() => r1.state === "acting", "r1 acting");
    const second = await coordinator(store, `${store}-r2`);
    const r2 = await second.reactor(
      "compute",
      async (d, { token }) => void runs.push({ by: "r2", key: d.key, token }),
      { brake: false },
    );
    hang(`${store}-node0`);
    await until(() => runs.length === 1, "r1 started the handler");
    // r1 hangs mid-handler past its session timeout: r2 takes over and runs it again (at least once).
    hang(`${store}-r1`);
    await until(() => runs.some((r) => r.by === "r2"), "r2 ran it");
    await until(async () => (await r2.pending()).length === 0, "recorded by r2");
    // r1 resumes: its token is stale, it cannot record the departure a second time.
    frozen.splice(frozen.indexOf(`${store}-r1`), 1);
    memorySessions.thaw(`${store}-r1`);
    block = false;
    await until(() => r1.state === "standby", "r1 back to standby");
    const r2Run = runs.find((r) => r.by === "r2");
    const r1Run = runs.find((r) => r.by === "r1");
    expect(r2Run && r1Run && r2Run.token > r1Run.token).toBe(true);
    const status = await reactorStatus(second, "compute");
    expect(status.token).toBe(r2Run?.token);
    expect(status.pending).toEqual([]);
  });

  it("refuses bad input with typed errors before writing anything", async () => {
    const store = `reactor-input-${process.pid}`;
    const coord = await coordinator(store);
    const bad = async (p: Promise<unknown>, code: string, text: RegExp) => {
      const error = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(RollcallError.hasCode(error, code as never)).toBe(true);
      expect(String((error as Error).message)).toMatch(text);
    };
    await bad(
      coord.reactor("nope", async () => {}),
      "GROUP_NOT_FOUND",
      /nope/,
    );
    await coord.createGroup("compute");
    await bad(coord.reactor("compute", "x" as never), "INVALID_ARGUMENT", /handler/);
    await bad(
      coord.reactor("compute", async () => {}, { grace: -1 }),
      "INVALID_ARGUMENT",
      /grace/,
    );
    await bad(
      coord.reactor("compute", async () => {}, { brake: { fraction: 2 } }),
      "INVALID_ARGUMENT",
      /fraction/,
    );
    await bad(
      coord.reactor("compute", async () => {}, { reasons: ["gone" as never] }),
      "INVALID_ARGUMENT",
      /reasons/,
    );
    await bad(
      coord.reactor("compute", async () => {}, { name: "bad name" }),
      "INVALID_ARGUMENT",
      /name/,
    );
    expect(await coord.configs()).toEqual([]);
  });
});
