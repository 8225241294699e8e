import { runConformance } from "@rollcall/conformance";
import { startRedis } from "@rollcall/servers";
import "@rollcall/redis";

runConformance({
  name: "redis",
  setup: async () => {
    // No persistence: a restart loses every key, so members must come back by re-joining.
    const server = await startRedis({ extraArgs: ["--appendonly", "no"] });
    return {
      url: server.url,
      close: () => server.close(),
      faults: {
        restartServer: {
          run: () => server.nodes[0]?.restart() ?? Promise.resolve(),
          preservesSessions: false,
        },
      },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
});
