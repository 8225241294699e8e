import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@rollcall/core";
import { parsePrometheusText, sampleValue } from "@rollcall/metrics";
import "@rollcall/redis";
import { startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Running, rollcall, until } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "rollcall-cli-http-"));
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
const running: Running[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
}, 60_000);
afterAll(async () => {
  for (const r of running) r.kill("SIGKILL");
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): Running {
  const r = new Running(args);
  running.push(r);
  return r;
}

const redisUrl = () => `${redis?.url}?namespace=h${++n}-${process.pid}&sessionTimeout=2000`;

/** The base URL a `--http` process says it serves on. */
async function servedAt(r: Running): Promise<string> {
  const line = await r.waitFor(/serving \/metrics, \/healthz, \/readyz, \/leaderz on http:\/\//);
  return (/on (http:\/\/\S+)$/.exec(line) as RegExpExecArray)[1] as string;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

async function metric(
  base: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return sampleValue(parsePrometheusText((await get(`${base}/metrics`)).body), name, labels);
}

describe("--http on the sidecar commands", () => {
  it("rollcall campaign --http: the leader probe and the metrics follow a SIGKILLed leader to the next one", async () => {
    const url = redisUrl();
    const first = start([
      "campaign",
      "web",
      "--url",
      url,
      "--id",
      "web-1",
      "--http",
      "127.0.0.1:0",
      "--",
      "sleep",
      "600",
    ]);
    const firstBase = await servedAt(first);
    expect(firstBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const firstToken = BigInt(
      (/token (\d+)/.exec(await first.waitFor(/elected in web/)) as RegExpExecArray)[1] as string,
    );
    const second = start([
      "campaign",
      "web",
      "--url",
      url,
      "--id",
      "web-2",
      "--http",
      ":0",
      "--",
      "sleep",
      "600",
    ]);
    const secondBase = await servedAt(second);

    expect(await get(`${firstBase}/leaderz?election=web`)).toEqual({
      status: 200,
      body: `leader of web (token ${firstToken})\n`,
    });
    expect(await metric(firstBase, "rollcall_election_leader", { election: "web" })).toBe(1);
    expect(await metric(firstBase, "rollcall_election_fencing_token", { election: "web" })).toBe(
      Number(firstToken),
    );
    expect(await metric(firstBase, "rollcall_backend_info", { backend: "redis" })).toBe(1);
    expect((await get(`${secondBase}/leaderz?election=web`)).status).toBe(503);
    expect(await metric(secondBase, "rollcall_election_leader", { election: "web" })).toBe(0);
    expect(await get(`${secondBase}/readyz`)).toEqual({ status: 200, body: "ready: session connected\n" });

    first.kill("SIGKILL");
    await until(
      async () => (await get(`${secondBase}/leaderz?election=web`)).status === 200,
      "the seat to move",
      15_000,
    );
    const secondToken = BigInt(
      (/token (\d+)/.exec(await second.waitFor(/elected in web/)) as RegExpExecArray)[1] as string,
    );
    expect(secondToken > firstToken).toBe(true);
    expect(await metric(secondBase, "rollcall_election_fencing_token", { election: "web" })).toBe(
      Number(secondToken),
    );
    expect(
      await metric(secondBase, "rollcall_election_transitions_total", {
        election: "web",
        transition: "elected",
      }),
    ).toBe(1);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    // The server went with the process.
    await expect(get(`${secondBase}/healthz`)).rejects.toThrow();
  });

  it("rollcall join --http on the embedded SQLite default: the group's members and leaves as values", async () => {
    const url = `sqlite://${dir}/join.db?namespace=j${++n}&sessionTimeout=2000`;
    const a = start(["join", "compute", "--url", url, "--id", "api-1", "--http", "0"]);
    const base = await servedAt(a);
    const b = start(["join", "compute", "--url", url, "--id", "api-2"]);
    await b.waitFor(/joined compute as api-2/);
    await until(
      async () => (await metric(base, "rollcall_group_members", { group: "compute" })) === 2,
      "two members",
    );
    b.kill("SIGTERM");
    expect(await b.exited).toBe(0);
    await until(
      async () =>
        (await metric(base, "rollcall_membership_events_total", {
          group: "compute",
          type: "leave",
          reason: "left",
        })) === 1,
      "a graceful leave",
    );
    expect(await metric(base, "rollcall_group_members", { group: "compute" })).toBe(1);
    expect(await metric(base, "rollcall_backend_info", { backend: "sqlite" })).toBe(1);
    const text = (await get(`${base}/metrics`)).body;
    expect(text).not.toContain("api-1");
    expect(text).not.toContain("api-2");
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
  });

  it("rollcall lock --http: the lock wait is measured and the lock probe passes while held", async () => {
    const url = redisUrl();
    // The holder is a coordinator of this test: its hold does not depend on a process's timing.
    const holder = await connect(url, { memberId: "holder" });
    const held = await holder.lock("nightly").acquire();
    const waiter = start([
      "lock",
      "nightly",
      "--url",
      url,
      "--id",
      "waiter",
      "--http",
      "127.0.0.1:0",
      "--",
      "sleep",
      "600",
    ]);
    const base = await servedAt(waiter);
    expect((await get(`${base}/leaderz?lock=nightly`)).status).toBe(503);
    expect(await metric(base, "rollcall_lock_held", { lock: "nightly" })).toBe(0);
    // The waiter has been waiting at least since its server came up.
    const waitingSince = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    const releasedAt = Date.now();
    await held.resign();
    await holder.close();
    await waiter.waitFor(/holding lock nightly/);
    expect((await get(`${base}/leaderz?lock=nightly`)).status).toBe(200);
    expect(await metric(base, "rollcall_lock_held", { lock: "nightly" })).toBe(1);
    expect(await metric(base, "rollcall_lock_wait_seconds_count", { lock: "nightly" })).toBe(1);
    const waited = (await metric(base, "rollcall_lock_wait_seconds_sum", { lock: "nightly" })) as number;
    expect(waited * 1000).toBeGreaterThanOrEqual(releasedAt - waitingSince);
    waiter.kill("SIGTERM");
    await waiter.exited;
  });

  it("a bad --http address is a usage error naming what is allowed; a port in use is a clear failure", async () => {
    for (const bad of ["nope:port", "70000", "[::1]", "host:"]) {
      const result = await rollcall(["campaign", "web", "--url", redisUrl(), "--http", bad, "--", "true"]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toContain("--http: listen address");
      expect(result.stderr).toContain("use host:port, [ipv6]:port or a port (0–65535)");
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await rollcall(["join", "compute", "--url", redisUrl(), "--http", `127.0.0.1:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `INVALID_ARGUMENT: cannot listen on http://127.0.0.1:${port}: EADDRINUSE`,
      );
    } finally {
      taken.close();
    }
    const help = await rollcall(["campaign", "--help"]);
    expect(help.stdout).toContain("--http ADDR");
  });
});
