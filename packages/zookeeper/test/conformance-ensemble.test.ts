import { labIfAvailable, partitionLeaderFault, runConformance } from "@rollcall/conformance";
import type { NetworkLab } from "@rollcall/servers";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

// A little longer than the standalone runs' 2 s: a partitioned leader is a failover of its own —
// followers notice it (syncLimit × tickTime), elect a new leader, and every client reconnects to it —
// and each session must outlast that on a loaded 2-core machine too.
const SESSION_TIMEOUT = 3000;

// A 3-node ensemble, each node in a host of its own in a network lab when one can be created (root),
// so that a node can be cut off for real. Losing the leader — killed, or partitioned from the others
// and from its clients for two session timeouts — moves clients to a follower: sessions survive.
let lab: NetworkLab | undefined;
runConformance({
  name: "zookeeper (3-node ensemble)",
  setup: async () => {
    lab = await labIfAvailable();
    // syncLimit × tickTime (1 s) well below the session timeout: a partitioned leader is noticed — by
    // its followers, and by itself, which then drops its clients — fast enough for them to reconnect
    // to the new quorum before their sessions' timeouts run out there.
    const server = await startZooKeeper({ nodes: 3, config: { syncLimit: 2 }, ...(lab ? { lab } : {}) });
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
