import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Running, rollcall, until } from "./run-cli.js";

// Credential hygiene of the `rollcall` command: a password given in --url or in ROLLCALL_URL never
// shows in its output — successful commands, long-running ones, failures — nor on a child process's
// command line.
const password = `cli/${randomBytes(8).toString("hex")}@%:`;
const wrong = `wrong-${randomBytes(8).toString("hex")}`;
let server: RedisServer;
let host: string;
const running: Running[] = [];
let n = 0;

/** The secret in every form it could take in text. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
}

function expectClean(what: string, text: string): void {
  for (const secret of [password, wrong]) {
    for (const form of forms(secret))
      expect(text.includes(form), `${what} shows a secret:\n${text}`).toBe(false);
  }
}

function url(secret = password): string {
  return `redis://app:${encodeURIComponent(secret)}@${host}/0?namespace=cli-sec-${++n}&sessionTimeout=2000`;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const r = new Running(args, env);
  running.push(r);
  return r;
}

/** Command lines of every process descended from `pid`. */
function descendantCommandLines(pid: number): string[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const lines: string[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    try {
      lines.push(readFileSync(`/proc/${next}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {}
    queue.push(...(children.get(next) ?? []));
  }
  return lines;
}

beforeAll(async () => {
  server = await startRedis({
    password: `default-${randomBytes(8).toString("hex")}`,
    aclUsers: [{ name: "app", password }],
  });
  host = `127.0.0.1:${server.nodes[0]?.port}`;
}, 60_000);

afterAll(async () => {
  for (const r of running) r.kill("SIGKILL");
  await server?.close();
});

describe("rollcall never prints a password", () => {
  for (const via of ["--url", "ROLLCALL_URL"] as const) {
    it(`from ${via}: groups, members, status, leader, join, watch, lock and their errors`, async () => {
      const target = url();
      const run = (args: string[]) =>
        via === "--url" ? rollcall([...args, "--url", target]) : rollcall(args, { ROLLCALL_URL: target });
      const spawnWith = (args: string[]) =>
        via === "--url" ? start([...args, "--url", target]) : start(args, { ROLLCALL_URL: target });

      const joined = spawnWith(["join", "compute", "--id", "a", "--meta", "cpus=4"]);
      await joined.waitFor(/joined compute as a/);
      const watch = spawnWith(["watch", "compute", "--json"]);
      await watch.waitFor(/"snapshot"/);
      const outputs: [string, { code: number; stdout: string; stderr: string }][] = [
        ["groups", await run(["groups"])],
        ["members", await run(["members", "compute"])],
        ["members --json", await run(["members", "compute", "--json"])],
        ["status", await run(["status"])],
        ["status --json", await run(["status", "--json"])],
        ["leader (nobody)", await run(["leader", "nobody"])],
        [
          "lock",
          await run(["lock", "resource", "--id", "l", "--", process.execPath, "-e", "console.log('locked')"]),
        ],
        ["members of a missing group", await run(["members", "missing"])],
        ["a bad name", await run(["members", "../escape"])],
      ];
      const [, groups] = outputs[0] ?? [];
      expect(groups?.stdout.trim()).toBe("compute");
      const [, status] = outputs[3] ?? [];
      expect(status?.code).toBe(0);
      expect(status?.stdout).toContain("app:***@");
      expect(outputs.find(([what]) => what === "members of a missing group")?.[1].stderr).toContain(
        "GROUP_NOT_FOUND",
      );
      for (const [what, result] of outputs) expectClean(what, `${result.stdout}\n${result.stderr}`);
      joined.kill("SIGTERM");
      expect(await joined.exited).toBe(0);
      await watch.waitFor(/"leave"/);
      watch.kill("SIGTERM");
      await watch.exited;
      expectClean("join", joined.lines.join("\n"));
      expectClean("watch", watch.lines.join("\n"));
    }, 90_000);

    it(`from ${via}: a wrong password fails with one line naming the host and the reason, not the password`, async () => {
      const bad = url(wrong);
      const started = Date.now();
      const result =
        via === "--url"
          ? await rollcall(["groups", "--url", bad])
          : await rollcall(["groups"], { ROLLCALL_URL: bad });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("CONNECTION");
      expect(result.stderr).toContain(host);
      expect(result.stderr).toMatch(/WRONGPASS|credentials/);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(8000);
      expectClean("a wrong password", `${result.stdout}\n${result.stderr}`);
      const join = await (via === "--url"
        ? rollcall(["join", "compute", "--id", "x", "--url", bad])
        : rollcall(["join", "compute", "--id", "x"], { ROLLCALL_URL: bad }));
      expect(join.code).toBe(1);
      expectClean("join with a wrong password", `${join.stdout}\n${join.stderr}`);
    }, 30_000);
  }

  it("the demo passes the URL to its processes in the environment, not on their command lines", async () => {
    const demo = start(["demo", "--non-interactive", "--duration", "60", "--computes", "2"], {
      ROLLCALL_URL: url(),
    });
    await demo.waitFor(/starting compute services/, 30_000);
    const pid = demo.child.pid ?? 0;
    let seen: string[] = [];
    await until(() => {
      seen = descendantCommandLines(pid);
      return seen.filter((l) => /\b(join|campaign)\b/.test(l)).length >= 4;
    }, "the demo's compute and scheduler processes");
    for (const line of seen) expectClean("a demo child's command line", line);
    await demo.waitFor(/compute-1/, 30_000);
    demo.kill("SIGINT");
    await demo.exited;
    expectClean("the demo's output", demo.lines.join("\n"));
  }, 90_000);
});
