import { runConformance, temporaryFile } from "@rollcall/conformance";
import "@rollcall/sql";
import { holdWriteLock } from "./write-lock.js";

// The embedded default: a temp file shared by members in separate processes on one host.
runConformance({
  name: "sqlite",
  setup: async () => {
    const file = temporaryFile("sqlite", "rollcall.db");
    return { url: `sqlite://${file.path}`, close: file.remove, stall: () => holdWriteLock(file.path) };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  stall: true,
});
