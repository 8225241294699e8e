import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformance } from "@rollcall/conformance";
import "@rollcall/sql";

// The embedded default: a temp file shared by members in separate processes on one host.
runConformance({
  name: "sqlite",
  setup: async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-sqlite-"));
    return {
      url: `sqlite://${join(dir, "rollcall.db")}`,
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
