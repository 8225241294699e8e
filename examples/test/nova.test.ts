import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("the Nova example places only on hosts that are up and keeps services.is_up in step, on the embedded default", async () => {
  const script = fileURLToPath(new URL("../dist/nova/nova.js", import.meta.url));
  const { stdout } = await run(process.execPath, [script], { timeout: 90_000 });
  const line = stdout.split("\n").find((l) => l.startsWith("result "));
  expect(line).toBeDefined();
  const result = JSON.parse((line as string).slice("result ".length)) as {
    upAfter: string[];
    placedAfterCrash: string[];
  };
  expect(result.upAfter).toEqual(["compute-1", "compute-3"]);
  expect(result.placedAfterCrash).toHaveLength(6);
  expect(result.placedAfterCrash).not.toContain("compute-2");
  expect(stdout).toContain("services.is_up: compute-1, compute-2, compute-3");
}, 120_000);
