import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePrometheusText, sampleValue } from "@rollcall/metrics";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Running, rollcall } from "./run-cli.js";

// `rollcall react` as an operator runs it: real processes on one SQLite file, members SIGKILLed.
const TIMEOUT = 1500;
const dir = mkdtempSync(join(tmpdir(), "rollcall-cli-react-"));
const running: Running[] = [];
let n = 0;

afterEach(() => {
  for (const r of running.splice(0)) r.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): Running {
  const r = new Running(args);
  running.push(r);
  return r;
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 30_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function status(
  url: string,
): Promise<{ brake: { engaged: boolean } | null; pending: { key: string }[] }> {
  const { code, stdout, stderr } = await rollcall(["react", "compute", "--status", "--json", "--url", url]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  return JSON.parse(stdout);
}

/** The handler: one line per run with the departure's environment. */
function recorder(file: string): string[] {
  return [
    "sh",
    "-c",
    `echo "$ROLLCALL_IDEMPOTENCY_KEY $ROLLCALL_MEMBER_ID $ROLLCALL_LEAVE_REASON $ROLLCALL_FENCING_TOKEN $ROLLCALL_MEMBER_METADATA" >> ${file}`,
  ];
}

describe("rollcall react", () => {
  it("runs the command once, in one of two reactors, for a member killed with SIGKILL", async () => {
    const url = `sqlite://${dir}/react.db?namespace=r${++n}&sessionTimeout=${TIMEOUT}`;
    const file = join(dir, `runs-${n}.log`);
    const members = ["node-a", "node-b", "node-c"].map((id) =>
      start(["join", "compute", "--id", id, "--meta", `instances=${id}-vm`, "--url", url]),
    );
    for (const m of members) await m.waitFor(/joined/);
    const reactors = [1, 2].map((i) =>
      start([
        "react",
        "compute",
        "--id",
        `reactor-${i}`,
        "--brake",
        "off",
        "--url",
        url,
        "--",
        ...recorder(file),
      ]),
    );
    for (const r of reactors) await r.waitFor(/standing by/);
    members[1]?.kill("SIGKILL");
    await until(() => lines(file).length >= 1, "a handler run");
    await until(async () => (await status(url)).pending.length === 0, "nothing pending");
    const runs = lines(file);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^node-b@\d+ node-b expired \d+ \{"instances":"node-b-vm"\}$/);
    // Exactly one reactor acted.
    expect(reactors.filter((r) => r.lines.some((l) => /handled node-b@/.test(l)))).toHaveLength(1);
  });

  it("--http serves the reactor's metrics: a failure, then the handled departure, scraped", async () => {
    const url = `sqlite://${dir}/react.db?namespace=r${++n}&sessionTimeout=${TIMEOUT}`;
    const marker = join(dir, `http-marker-${n}`);
    const member = start(["join", "compute", "--id", "gone", "--url", url]);
    await member.waitFor(/joined/);
    const reactor = start([
      "react",
      "compute",
      "--brake",
      "off",
      "--http",
      "127.0.0.1:0",
      "--url",
      url,
      "--",
      "sh",
      "-c",
      `if [ ! -f ${marker} ]; then touch ${marker}; exit 1; fi`,
    ]);
    const line = await reactor.waitFor(/serving \/metrics, \/healthz, \/readyz, \/leaderz on http:\/\//);
    const base = (/on (http:\/\/\S+)$/.exec(line) as RegExpExecArray)[1] as string;
    const scrape = async (name: string, labels: Record<string, string> = {}) => {
      const body = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      return sampleValue(parsePrometheusText(body), name, { reactor: "compute", ...labels });
    };
    await reactor.waitFor(/acting/);
    expect(await scrape("rollcall_reactor_state", { state: "acting" })).toBe(1);
    member.kill("SIGKILL");
    await until(
      async () => (await scrape("rollcall_reactor_handled_total")) === 1,
      "handled_total 1 on /metrics",
    );
    expect(await scrape("rollcall_reactor_failures_total")).toBe(1);
    expect(await scrape("rollcall_reactor_braked")).toBe(0);
  });

  it("a failing command is retried until it exits 0; --status and --release work from another process", async () => {
    const url = `sqlite://${dir}/react.db?namespace=r${++n}&sessionTimeout=${TIMEOUT}`;
    const file = join(dir, `runs-${n}.log`);
    const marker = join(dir, `marker-${n}`);
    const members = ["n1", "n2", "n3", "n4"].map((id) =>
      start(["join", "compute", "--id", id, "--url", url]),
    );
    for (const m of members) await m.waitFor(/joined/);
    const reactor = start([
      "react",
      "compute",
      "--brake",
      `0.5/${4 * TIMEOUT}`,
      "--url",
      url,
      "--",
      "sh",
      "-c",
      `if [ ! -f ${marker}-$ROLLCALL_MEMBER_ID ]; then touch ${marker}-$ROLLCALL_MEMBER_ID; exit 7; fi; echo "$ROLLCALL_IDEMPOTENCY_KEY $ROLLCALL_ATTEMPT" >> ${file}`,
    ]);
    await reactor.waitFor(/acting/);
    members[0]?.kill("SIGKILL");
    await reactor.waitFor(/n1@\d+ failed \(attempt 1\): the command exited with status 7/);
    await until(() => lines(file).length === 1, "the retried run");
    expect(lines(file)[0]).toMatch(/^n1@\d+ 2$/);
    // Three of the remaining three go at once: more than half of the group → braked, nothing runs.
    for (const m of members.slice(1)) m.kill("SIGKILL");
    await reactor.waitFor(/BRAKED/);
    // The brake engages at the second of the three leaves; the third may be seen a moment later.
    let braked = await status(url);
    await until(async () => {
      braked = await status(url);
      return braked.pending.length >= 3;
    }, "all three departures pending");
    expect(braked.brake?.engaged).toBe(true);
    expect(braked.pending.map((p) => p.key.split("@")[0]).sort()).toEqual(["n2", "n3", "n4"]);
    const text = await rollcall(["react", "compute", "--status", "--url", url]);
    expect(text.stdout).toMatch(
      /BRAKED since .* \(\d of \d left\) — release with: rollcall react compute --release/,
    );
    expect(lines(file)).toHaveLength(1);
    const released = await rollcall(["react", "compute", "--release", "--url", url]);
    expect(released.stdout).toMatch(/released the brake of reactor compute/);
    await reactor.waitFor(/brake released \(operator\)/);
    // Each fails once (the marker), then succeeds.
    await until(() => lines(file).length === 4, "the three handled after the release");
    expect((await status(url)).pending).toEqual([]);
  });

  it("refuses bad options with a usage error and an unknown group with GROUP_NOT_FOUND", async () => {
    const url = `sqlite://${dir}/react.db?namespace=r${++n}`;
    const bad = await rollcall(["react", "compute", "--brake", "2", "--url", url, "--", "true"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--brake must be FRACTION/);
    const missing = await rollcall(["react", "nope", "--url", url, "--", "true"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/GROUP_NOT_FOUND/);
    const noCommand = await rollcall(["react", "nope", "--url", url]);
    expect(noCommand.code).toBe(2);
  });
});
