import { labIfAvailable, partitionLeaderFault, runConformance } from "@rollcall/conformance";
import type { NetworkLab } from "@rollcall/servers";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

const SESSION_TIMEOUT = 2000;

// A 3-node ensemble, each node in a host of its own in a network lab when one can be created (root),
// so that a node can be cut off for real. Losing the leader — killed, or partitioned from the others
// and from its clients for two session timeouts — moves clients to a follower: sessions survive.
let lab: NetworkLab | undefined;
runConformance({
  name: "zookeeper (3-node ensemble)",
  setup: async () => {
    lab = await labIfAvailable();
    const server = await startZooKeeper({ nodes: 3, ...(lab ? { lab } : {}) });
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await lab?.close();
      },
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
        ...(lab ? { partitionNode: partitionLeaderFault(server, SESSION_TIMEOUT * 2) } : {}),
      },
    };
  },
  timing: { sessionTimeout: SESSION_TIMEOUT, detectionSlack: 1500 },
  faults: ["killNode", "partitionNode"],
});
