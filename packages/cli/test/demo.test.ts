import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { rollcall } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "rollcall-demo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("rollcall demo runs non-interactively on the embedded default and ends with a summary of measured times", async () => {
  const { code, stdout, stderr } = await rollcall([
    "demo",
    "--non-interactive",
    "--duration",
    "120",
    "--url",
    `sqlite://${dir}/demo.db`,
  ]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  for (const phase of [
    "crash: SIGKILL compute-2",
    "fail-over: SIGKILL the leader",
    "freeze: SIGSTOP compute-3",
    "thaw: SIGCONT compute-3",
    "restart:",
  ]) {
    expect(stdout).toContain(phase);
  }
  expect(stdout).toMatch(/watcher: leave\s+compute-2 \(expired\)/);
  expect(stdout).toMatch(/crash of compute-2 → leave seen\s+\d+ ms/);
  expect(stdout).toMatch(/crash of leader scheduler-[ab] → new leader\s+\d+ ms/);
  expect(stdout).toMatch(/thaw of compute-3 → re-joined\s+\d+ ms/);
}, 150_000);
