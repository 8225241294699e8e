import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformance } from "@rollcall/conformance";
import "@rollcall/sql";
import { holdWriteLock } from "./write-lock.js";

// The embedded default: a temp file shared by members in separate processes on one host.
runConformance({
  name: "sqlite",
  setup: async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-sqlite-"));
    const file = join(dir, "rollcall.db");
    return {
      url: `sqlite://${file}`,
      close: async () => rmSync(dir, { recursive: true, force: true }),
      stall: async () => {
        const lock = await holdWriteLock(file);
        return { end: async () => void (await lock.end()) };
      },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  stall: true,
});
