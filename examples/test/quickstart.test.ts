import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("the quick start runs on memory:// and shows the crash, the fail-over and the summary", async () => {
  const script = fileURLToPath(new URL("../dist/quickstart.js", import.meta.url));
  const { stdout } = await run(process.execPath, [script], { timeout: 30_000 });
  expect(stdout).toContain("watcher  join    compute-1");
  expect(stdout).toMatch(/leave\s+compute-2 \(expired\)/);
  expect(stdout).toContain("scheduler-b leads with fencing token");
  expect(stdout).toContain("(> ");
  expect(stdout).toMatch(/: true\)/);
  expect(stdout).toContain("crash → leave seen");
});
