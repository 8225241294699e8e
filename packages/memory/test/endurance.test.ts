import { runEndurance } from "@rollcall/conformance";
import "@rollcall/memory";

// No server, so no storms: the load, the samples and the end-state checks still run. The "server" lives
// in this process, so its event logs (10,000 events per group) count in the heap: at this load the
// election and lock groups fill theirs in about 35 s, hence the longer warm-up.
runEndurance({
  name: "memory",
  setup: async () => ({ url: `memory://soak-${process.pid}` }),
  watcher: "process",
  profile: { duration: 75_000, warmup: 45_000 },
});
