import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, Running, rollcall, until } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "rollcall-cli-"));
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
const running: Running[] = [];
function start(args: string[]): Running {
  const r = new Running(args);
  running.push(r);
  return r;
}

beforeAll(async () => {
  redis = await startRedis();
}, 60_000);
afterAll(async () => {
  for (const r of running) r.kill("SIGKILL");
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
const backends: [string, () => string][] = [
  ["sqlite", () => `sqlite://${dir}/cli.db?namespace=t${++n}&sessionTimeout=2000`],
  ["redis", () => `${redis?.url}?namespace=t${++n}&sessionTimeout=2000`],
];

describe("rollcall without a backend", () => {
  it("--help works for every command", async () => {
    for (const command of [
      "groups",
      "members",
      "leader",
      "watch",
      "join",
      "campaign",
      "lock",
      "status",
      "demo",
    ]) {
      const { code, stdout } = await rollcall([command, "--help"]);
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: rollcall ${command}`);
    }
    const main = await rollcall(["--help"]);
    expect(main.code).toBe(0);
    expect(main.stdout).toContain("Commands:");
  });

  it("bad usage exits 2 with one line; bad URLs and unreachable servers exit 1 with one line naming the problem, never the secret", async () => {
    const unknown = await rollcall(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    const option = await rollcall(["groups", "--bogus"]);
    expect(option.code).toBe(2);
    const missing = await rollcall(["members"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing <group>");
    const badUrl = await rollcall(["groups", "--url", "redis://u:hunter2@127.0.0.1:99999/0"]);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain("INVALID_ARGUMENT");
    expect(badUrl.stderr).not.toContain("hunter2");
    const down = await rollcall(["groups", "--url", "redis://u:hunter2@127.0.0.1:1/0?connectTimeout=1500"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("CONNECTION");
    expect(down.stderr).toContain("127.0.0.1");
    expect(down.stderr).not.toContain("hunter2");
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    const scheme = await rollcall(["groups", "--url", "gopher://x"]);
    expect(scheme.code).toBe(1);
    expect(scheme.stderr).toContain("UNKNOWN_SCHEME");
  }, 60_000);

  it("takes the URL from ROLLCALL_URL", async () => {
    const { code, stdout } = await rollcall(["status", "--json"], { ROLLCALL_URL: `sqlite://${dir}/env.db` });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ backend: "sqlite", state: "connected" });
  });
});

describe.each(backends)("rollcall on %s", (_name, makeUrl) => {
  it("join / members / groups / watch / status follow real processes, crash included", async () => {
    const url = makeUrl();
    const a = start(["join", "compute", "--url", url, "--id", "a", "--meta", "cpus=4", "--meta", "zone=x"]);
    await a.waitFor(/joined compute as a/);
    const watch = start(["watch", "compute", "--url", url, "--json"]);
    const watchEvents = () =>
      watch.lines
        .filter((l) => l.startsWith("{"))
        .map(
          (l) =>
            JSON.parse(l) as { type: string; memberId?: string; member?: { id: string }; reason?: string },
        );
    const members = await rollcall(["members", "compute", "--url", url, "--json"]);
    expect(members.code).toBe(0);
    expect(JSON.parse(members.stdout)).toMatchObject([{ id: "a", metadata: { cpus: 4, zone: "x" } }]);
    const table = await rollcall(["members", "compute", "--url", url]);
    expect(table.stdout).toMatch(/^ID\s+SEQ\s+JOINED\s+METADATA/);
    expect((await rollcall(["groups", "--url", url])).stdout.trim()).toBe("compute");
    const status = await rollcall(["status", "--url", url, "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: "connected",
      characteristics: { scope: expect.any(String) },
    });
    const b = start(["join", "compute", "--url", url, "--id", "b"]);
    await b.waitFor(/joined compute as b/);
    await until(
      () => watchEvents().some((e) => e.type === "join" && e.member?.id === "b"),
      "b's join in the watch",
    );
    expect(watchEvents()[0]).toMatchObject({ type: "snapshot" });
    b.kill("SIGTERM");
    expect(await b.exited).toBe(0);
    await until(
      () => watchEvents().some((e) => e.type === "leave" && e.memberId === "b"),
      "b's leave in the watch",
    );
    a.kill("SIGKILL");
    await until(
      () => watchEvents().some((e) => e.type === "leave" && e.memberId === "a"),
      "a's leave after its crash",
    );
    expect(watchEvents().find((e) => e.type === "leave" && e.memberId === "a")?.reason).toMatch(
      /expired|unknown/,
    );
    const after = await rollcall(["members", "compute", "--url", url, "--json"]);
    expect(JSON.parse(after.stdout)).toEqual([]);
    const missing = await rollcall(["members", "nope", "--url", url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("GROUP_NOT_FOUND");
    watch.kill("SIGINT");
    expect(await watch.exited).toBe(0);
  }, 90_000);

  it("campaign runs the command only while leading and hands it over when the leader dies", async () => {
    const url = makeUrl();
    const log = join(dir, `campaign-${n}.log`);
    const task = `require("fs").appendFileSync(${JSON.stringify(log)}, "start " + process.pid + " " + process.env.ROLLCALL_FENCING_TOKEN + "\\n"); setInterval(() => {}, 1000)`;
    expect((await rollcall(["leader", "sched", "--url", url])).code).toBe(1);
    const first = start([
      "campaign",
      "sched",
      "--url",
      url,
      "--id",
      "first",
      "--",
      process.execPath,
      "-e",
      task,
    ]);
    await first.waitFor(/elected in sched/);
    const second = start([
      "campaign",
      "sched",
      "--url",
      url,
      "--id",
      "second",
      "--",
      process.execPath,
      "-e",
      task,
    ]);
    await until(() => readLog(log).includes("start"), "the first command");
    const leader = await rollcall(["leader", "sched", "--url", url, "--json"]);
    expect(JSON.parse(leader.stdout)).toMatchObject({ id: "first" });
    const [firstPid, firstToken] = (readLog(log).trim().split("\n")[0] as string).split(" ").slice(1);
    first.kill("SIGKILL");
    // The guard kills the first command as soon as its rollcall is gone: before anyone else can lead.
    await until(() => !alive(Number(firstPid)), "the first command to be stopped", 5000);
    await second.waitFor(/elected in sched/, 30_000);
    await until(() => readLog(log).trim().split("\n").length === 2, "the second command");
    const [, secondToken] = (readLog(log).trim().split("\n")[1] as string).split(" ").slice(1);
    expect(BigInt(secondToken as string) > BigInt(firstToken as string)).toBe(true);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 90_000);

  it("campaign stops the command of a leader frozen past its validity, before the successor starts", async () => {
    const url = makeUrl();
    const log = join(dir, `frozen-${n}.log`);
    const task = `const fs=require("fs");const id=process.env.ROLLCALL_FENCING_TOKEN;setInterval(()=>fs.appendFileSync(${JSON.stringify(log)}, id+" "+Date.now()+"\\n"),20)`;
    const first = start([
      "campaign",
      "sched",
      "--url",
      url,
      "--id",
      "first",
      "--",
      process.execPath,
      "-e",
      task,
    ]);
    await first.waitFor(/elected in sched/);
    const second = start([
      "campaign",
      "sched",
      "--url",
      url,
      "--id",
      "second",
      "--",
      process.execPath,
      "-e",
      task,
    ]);
    await until(() => readLog(log).length > 0, "the first command writing");
    first.kill("SIGSTOP");
    await second.waitFor(/elected in sched/, 30_000);
    await until(
      () =>
        new Set(
          readLog(log)
            .trim()
            .split("\n")
            .map((l) => l.split(" ")[0]),
        ).size === 2,
      "the second command writing",
    );
    first.kill("SIGCONT");
    const lines = readLog(log)
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]);
    const tokens = [...new Set(lines.map(([t]) => t))];
    const lastOfFirst = Math.max(...lines.filter(([t]) => t === tokens[0]).map(([, at]) => Number(at)));
    const firstOfSecond = Math.min(...lines.filter(([t]) => t === tokens[1]).map(([, at]) => Number(at)));
    expect(lastOfFirst).toBeLessThan(firstOfSecond);
    first.kill("SIGTERM");
    second.kill("SIGTERM");
    await Promise.all([first.exited, second.exited]);
  }, 90_000);

  it("lock runs the command holding the lock, queues a second holder, and times out with TIMEOUT", async () => {
    const url = makeUrl();
    // The first holder's command runs until the test lets it go (a file appears), not for a fixed
    // time: on a loaded machine the second rollcall may take longer than any fixed time to start.
    const release = join(dir, `release-${Math.random().toString(36).slice(2)}`);
    const first = start([
      "lock",
      "door",
      "--url",
      url,
      "--id",
      "l1",
      "--",
      process.execPath,
      "-e",
      "const t=setInterval(()=>{if(require('fs').existsSync(process.argv[1]))clearInterval(t)},20)",
      release,
    ]);
    await first.waitFor(/holding lock door/);
    const timedOut = await rollcall([
      "lock",
      "door",
      "--url",
      url,
      "--id",
      "l2",
      "--timeout",
      "300",
      "--",
      "true",
    ]);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain("TIMEOUT");
    writeFileSync(release, "");
    const second = await rollcall([
      "lock",
      "door",
      "--url",
      url,
      "--id",
      "l3",
      "--",
      process.execPath,
      "-e",
      "process.exit(7)",
    ]);
    expect(second.code).toBe(7);
    expect(await first.exited).toBe(0);
  }, 60_000);
});
