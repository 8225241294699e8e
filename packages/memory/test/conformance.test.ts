import { runConformance } from "@rollcall/conformance";
import { memorySessions } from "@rollcall/memory";

runConformance({
  name: "memory",
  setup: async () => ({ url: `memory://conformance-${process.pid}` }),
  timing: { sessionTimeout: 1000, detectionSlack: 500 },
  sessionControl: memorySessions,
  fuzzRuns: 10_000,
});
