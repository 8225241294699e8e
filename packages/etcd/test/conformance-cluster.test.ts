import { setTimeout as sleep } from "node:timers/promises";
import { runConformance } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

const SESSION_TIMEOUT = 2000;

// Killing the Raft leader of a 3-node cluster: the survivors elect a new leader, which extends every
// lease, so no session may expire and no member may leave. The node stays down for three session
// timeouts (any lease that was not kept alive through the new leader would have expired by then),
// then comes back for the rest of the suites.
runConformance({
  name: "etcd (3-node cluster)",
  setup: async () => {
    const server = await startEtcd({ nodes: 3 });
    return {
      url: server.url,
      close: () => server.close(),
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
      },
    };
  },
  timing: { sessionTimeout: SESSION_TIMEOUT, detectionSlack: 1500 },
  faults: ["killNode"],
});
