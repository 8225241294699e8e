import { setTimeout as sleep } from "node:timers/promises";
import { labIfAvailable, partitionLeaderFault, runConformance } from "@rollcall/conformance";
import type { NetworkLab } from "@rollcall/servers";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

const SESSION_TIMEOUT = 2000;

// A 3-node cluster, each node in a host of its own in a network lab when one can be created (root).
// Killing the Raft leader: the survivors elect a new leader, which extends every lease, so no session
// may expire and no member may leave. The node stays down for three session timeouts (any lease that
// was not kept alive through the new leader would have expired by then), then comes back for the rest
// of the suites. Partitioning the leader from the others and from its clients is held to the same bar.
let lab: NetworkLab | undefined;
runConformance({
  name: "etcd (3-node cluster)",
  setup: async () => {
    lab = await labIfAvailable();
    const server = await startEtcd({ nodes: 3, ...(lab ? { lab } : {}) });
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
            await sleep(SESSION_TIMEOUT * 3);
            await leader.start();
          },
          preservesSessions: true,
        },
        ...(lab ? { partitionNode: partitionLeaderFault(server, SESSION_TIMEOUT * 3) } : {}),
      },
    };
  },
  timing: { sessionTimeout: SESSION_TIMEOUT, detectionSlack: 1500 },
  faults: ["killNode", "partitionNode"],
});
