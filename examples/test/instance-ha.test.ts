import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Coordinator, connect, REACTOR_CONFIG, reactorStatus } from "@rollcall/core";
import { type EtcdServer, startEtcd } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REACTOR_NAME } from "../src/instance-ha/names.js";
import { PLACEMENTS } from "../src/instance-ha/placement.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../dist/instance-ha/instance-ha.js", import.meta.url));
const SESSION_TIMEOUT = 2000;
/** The example's own deadlines are multiples of the session timeout; this bounds the whole run. */
const RUN_TIMEOUT = 30 * SESSION_TIMEOUT;

interface StoredPlacement {
  host: string;
  evacuatedFrom: string;
  key: string;
  token: string;
}

interface Result {
  victim: string;
  departureKey: string;
  firstReactor: string;
  killedReactor?: string;
  handledBy: string;
  before: Record<string, string[]>;
  after: Record<string, string[]>;
  placements: Record<string, StoredPlacement>;
  runs: Record<string, number>;
  placedBy: Record<string, string[]>;
  keptBy: Record<string, string[]>;
  timings: Record<string, number>;
}

let server: EtcdServer;

beforeAll(async () => {
  server = await startEtcd({ nodes: 1 });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/**
 * Runs the example in a fresh namespace of the test's etcd, counting every write to the `placements`
 * configuration through a watch opened before the run; returns the example's result, the writes per
 * instance, and the coordinator the watch used (closed by the caller).
 */
async function runExample(
  args: string[],
): Promise<{ result: Result; writes: Map<string, number>; checker: Coordinator; stdout: string }> {
  const url = `${server.url}?namespace=ha-${randomBytes(4).toString("hex")}&sessionTimeout=${SESSION_TIMEOUT}`;
  const checker = await connect(url, { memberId: "checker" });
  const writes = new Map<string, number>();
  const versions = new Map<string, bigint>();
  const stop = new AbortController();
  let wake: (() => void) | undefined;
  const watching = (async () => {
    for await (const event of checker.config(PLACEMENTS).watch({ signal: stop.signal })) {
      if (event.type !== "put") continue;
      expect(event.resync, "the watch kept continuity (every write seen)").toBeUndefined();
      writes.set(event.entry.key, (writes.get(event.entry.key) ?? 0) + 1);
      versions.set(event.entry.key, event.entry.version);
      wake?.();
    }
  })();
  try {
    const { stdout } = await run(process.execPath, [script, url, ...args], { timeout: RUN_TIMEOUT });
    const line = stdout.split("\n").find((l) => l.startsWith("result "));
    expect(line, stdout).toBeDefined();
    const result = JSON.parse((line as string).slice("result ".length)) as Result;
    // The watch has caught up once it has seen the stored version of every placement.
    const { entries } = await checker.config(PLACEMENTS).entries();
    const seen = () => entries.every((e) => versions.get(e.key) === e.version);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("the watch did not see every stored placement")),
        5 * SESSION_TIMEOUT,
      );
      wake = () => {
        if (!seen()) return;
        clearTimeout(timer);
        resolve();
      };
      wake();
    });
    return { result, writes, checker, stdout };
  } finally {
    stop.abort();
    await watching;
  }
}

/** What every scenario must show: each instance of the killed compute placed exactly once, on a live compute; nothing else moved. */
async function expectEvacuatedOnce(result: Result, writes: Map<string, number>, checker: Coordinator) {
  const victim = result.victim;
  const moved = result.before[victim] ?? [];
  expect(moved.length).toBeGreaterThan(0);
  const live = Object.keys(result.after);
  expect(live).not.toContain(victim);

  // The store: exactly the victim's instances, each placed once, for this departure, on a live compute.
  const { entries } = await checker.config(PLACEMENTS).entries();
  expect(entries.map((e) => e.key).sort()).toEqual(moved.map((i) => `instances/${i}`).sort());
  for (const instance of moved) {
    expect(writes.get(`instances/${instance}`), `${instance} written once`).toBe(1);
    const placement = result.placements[instance];
    expect(placement).toMatchObject({ evacuatedFrom: victim, key: result.departureKey });
    expect(live).toContain(placement?.host);
  }

  // The computes: every instance runs exactly once; the survivors kept theirs and took only the victim's.
  for (const host of live) {
    const placedHere = moved.filter((i) => result.placements[i]?.host === host);
    expect(result.after[host], host).toEqual([...(result.before[host] ?? []), ...placedHere].sort());
  }
  const everywhere = Object.values(result.after).flat();
  expect(everywhere.sort()).toEqual(Object.values(result.before).flat().sort());

  // The reactor: the departure recorded as handled exactly once, nothing pending.
  const state = await checker.config(REACTOR_CONFIG).get(`${REACTOR_NAME}/state`);
  const done = (state?.value as { done?: string[] } | undefined)?.done ?? [];
  expect(done.filter((k) => k === result.departureKey)).toHaveLength(1);
  expect((await reactorStatus(checker, REACTOR_NAME)).pending).toEqual([]);
}

describe("the instance-HA example, on etcd, real processes", () => {
  it(
    "a compute SIGKILLed: its instances are placed exactly once, on live computes, nothing else moves",
    async () => {
      const { result, writes, checker } = await runExample([]);
      try {
        await expectEvacuatedOnce(result, writes, checker);
        expect(result.handledBy).toBe(result.firstReactor);
        expect(result.runs[result.firstReactor], "one handler run, by the actor").toBe(1);
        expect(
          Object.values(result.runs).reduce((a, b) => a + b),
          "no other run",
        ).toBe(1);
        expect(result.placedBy[result.firstReactor]?.sort()).toEqual(result.before[result.victim]);
        console.log(`one compute killed: ${JSON.stringify(result.timings)}`);
      } finally {
        await checker.close();
      }
    },
    RUN_TIMEOUT + 20_000,
  );

  it(
    "the acting reactor SIGKILLed right after the compute: the standby finds the departure and completes it",
    async () => {
      const { result, writes, checker } = await runExample(["--kill-reactor", "after-compute"]);
      try {
        await expectEvacuatedOnce(result, writes, checker);
        expect(result.killedReactor).toBe(result.firstReactor);
        expect(result.handledBy).not.toBe(result.firstReactor);
        expect(result.placedBy[result.handledBy]?.sort()).toEqual(result.before[result.victim]);
        console.log(`reactor killed after the compute: ${JSON.stringify(result.timings)}`);
      } finally {
        await checker.close();
      }
    },
    RUN_TIMEOUT + 20_000,
  );

  it(
    "the acting reactor SIGKILLed mid-evacuation: the standby runs the handler again and leaves what was placed alone",
    async () => {
      const { result, writes, checker } = await runExample([
        "--kill-reactor",
        "mid-evacuation",
        "--boot-ms",
        "500",
      ]);
      try {
        await expectEvacuatedOnce(result, writes, checker);
        const first = result.firstReactor;
        const next = result.handledBy;
        expect(next).not.toBe(first);
        expect(result.runs, "the handler ran once in each reactor").toEqual({ [first]: 1, [next]: 1 });
        const placedFirst = result.placedBy[first] ?? [];
        const placedNext = result.placedBy[next] ?? [];
        expect(placedFirst.length, "the first reactor placed something before it died").toBeGreaterThan(0);
        expect(result.keptBy[next]?.sort(), "the second run kept what the first placed").toEqual(
          [...placedFirst].sort(),
        );
        expect([...placedFirst, ...placedNext].sort()).toEqual(result.before[result.victim]);
        // The first reactor's placements carry its token, the rest the newer, larger one.
        const tokenOf = (i: string) => BigInt(result.placements[i]?.token ?? "0");
        for (const i of placedNext)
          for (const j of placedFirst) expect(tokenOf(i)).toBeGreaterThan(tokenOf(j));
        console.log(`reactor killed mid-evacuation: ${JSON.stringify(result.timings)}`);
      } finally {
        await checker.close();
      }
    },
    RUN_TIMEOUT + 20_000,
  );
});
