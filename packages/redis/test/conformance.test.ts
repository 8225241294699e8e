import { runConformance } from "@rollcall/conformance";
import { secureRedis, startRedis } from "@rollcall/servers";
import "@rollcall/redis";

// No persistence: a restart loses every key, so members must come back by re-joining.
const extraArgs = ["--appendonly", "no"];
runConformance({
  name: "redis",
  server: {
    start: (at) => startRedis({ extraArgs, ...at }),
    secure: () => secureRedis({ extraArgs }),
    restart: { preservesSessions: false },
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
