import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, Running, rollcall } from "./run-cli.js";

const PASSWORD = "serve-secret-pw-42";
const dir = mkdtempSync(join(tmpdir(), "rollcall-serve-"));
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
const running: Running[] = [];

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
}, 60_000);
afterAll(async () => {
  for (const r of running) r.kill("SIGKILL");
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

const SERVING = /dashboard on (http:\/\/\S+)\//;

async function text(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text() };
}

/** The first chunk of the event stream (the snapshot). */
async function firstEvent(url: string): Promise<string> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal });
  const reader = response.body?.getReader();
  let seen = "";
  while (reader && !seen.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  abort.abort();
  return seen;
}

describe("rollcall serve", () => {
  it("--help says it binds loopback and is read-only", async () => {
    const { code, stdout } = await rollcall(["serve", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: rollcall serve");
    expect(stdout).toContain("127.0.0.1:7070");
    expect(stdout).toContain("Read-only");
  });

  it("refuses a bad --listen as a usage error", async () => {
    const { code, stderr } = await rollcall(["serve", "--url", "memory://x", "--listen", "nowhere:99999"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--listen");
  });

  it("serves the dashboard, /metrics and the probes together, read-only, without the URL's password", async () => {
    const url = `${redis?.url}?namespace=serve1&sessionTimeout=2000`;
    expect(url).toContain(PASSWORD);
    const member = new Running(["join", "web", "--id", "web-1", "--url", url]);
    running.push(member);
    await member.waitFor(/joined web/);
    const serve = new Running([
      "serve",
      "--url",
      url,
      "--listen",
      "127.0.0.1:0",
      "--keys",
      "order-1,order-2",
    ]);
    running.push(serve);
    const line = await serve.waitFor(SERVING);
    const base = (SERVING.exec(line) as RegExpExecArray)[1] as string;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const page = await text(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<title>rollcall</title>");
    const metrics = await text(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^rollcall_session_state/m);
    expect((await text(`${base}/readyz`)).status).toBe(200);
    expect((await text(`${base}/healthz`)).status).toBe(200);
    // The dashboard's view of "web" feeds the members gauge: one watch for both.
    let state = "";
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      state = (await text(`${base}/state`)).body;
      if (state.includes("web-1")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toContain("web-1");
    // --keys: the ring of "web" (one member) gives it every key.
    expect(JSON.parse(state).groups[0].ownership).toEqual([
      ["order-1", "web-1"],
      ["order-2", "web-1"],
    ]);
    const stream = await firstEvent(`${base}/events`);
    expect(stream).toContain('"type":"snapshot"');
    for (const method of ["POST", "PUT", "DELETE"]) {
      expect((await text(`${base}/events`, { method })).status).toBe(405);
      expect((await text(`${base}/metrics`, { method })).status).toBe(405);
    }
    // A page of another origin that rebinds its name to 127.0.0.1 sends its own Host: refused.
    const { request } = await import("node:http");
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/state`, { headers: { host: "attacker.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(rebound).toBe(403);

    serve.kill("SIGTERM");
    expect(await serve.exited).toBe(0);
    member.kill("SIGTERM");
    await member.exited;
    for (const seen of [page.body, metrics.body, state, stream, serve.lines.join("\n")]) {
      expect(seen).not.toContain(PASSWORD);
      expect(seen).not.toContain(encodeURIComponent(PASSWORD));
    }
    expect(serve.lines.join("\n")).toContain("redis://");
  });

  it("works on the embedded default (sqlite://./rollcall.db) with no --url", async () => {
    const cwd = mkdtempSync(join(dir, "default-"));
    const env = { ...process.env };
    delete env.ROLLCALL_URL;
    const child = spawn(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0"], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("rollcall serve did not start within 20 s")), 20_000);
        createInterface({ input: child.stdout }).on("line", (l) => {
          if (SERVING.test(l)) {
            clearTimeout(timer);
            resolve(l);
          }
        });
        child.on("exit", (code) => reject(new Error(`rollcall serve exited with ${code}`)));
      });
      expect(line).toContain("sqlite://./rollcall.db");
      const base = (SERVING.exec(line) as RegExpExecArray)[1] as string;
      expect((await text(`${base}/`)).status).toBe(200);
      expect((await text(`${base}/readyz`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  });
});
