import { runConformance } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

// Losing the leader of a 3-node ensemble: clients move to a follower, sessions survive.
runConformance({
  name: "zookeeper (3-node ensemble)",
  setup: async () => {
    const server = await startZooKeeper({ nodes: 3 });
    return {
      url: server.url,
      close: () => server.close(),
      faults: {
        killNode: {
          run: async () => {
            const leader = await server.leader();
            await leader.kill();
            await server.leader();
            await leader.start();
          },
          preservesSessions: true,
        },
      },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["killNode"],
});
