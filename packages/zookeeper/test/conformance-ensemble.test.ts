import { setTimeout as sleep } from "node:timers/promises";
import { runConformance } from "@rollcall/conformance";
import { createNetworkLab, type NetworkLab, networkLabUnavailable, startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

const SESSION_TIMEOUT = 2000;

// A 3-node ensemble, each node in a host of its own in a network lab when one can be created (root),
// so that a node can be cut off for real. Losing the leader — killed, or partitioned from the others
// and from its clients for two session timeouts — moves clients to a follower: sessions survive.
let lab: NetworkLab | undefined;
runConformance({
  name: "zookeeper (3-node ensemble)",
  setup: async () => {
    const unavailable = await networkLabUnavailable();
    if (unavailable === undefined) lab = await createNetworkLab();
    else console.warn(`the cluster runs without a network lab, so no partitionNode fault: ${unavailable}`);
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
        ...(lab
          ? {
              partitionNode: {
                run: async () => {
                  const leader = await server.leader();
                  await leader.partition();
                  await sleep(SESSION_TIMEOUT * 2);
                  await leader.heal();
                  await server.leader();
                },
                preservesSessions: true,
              },
            }
          : {}),
      },
    };
  },
  timing: { sessionTimeout: SESSION_TIMEOUT, detectionSlack: 1500 },
  faults: ["killNode", "partitionNode"],
});
