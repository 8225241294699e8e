import { runConformance } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

// Killing the Raft leader: the survivors elect a new one, which extends every lease, so no session may expire;
// it stays down three session timeouts (an unrenewed lease would have expired by then). Partitioned: same bar.
runConformance({
  name: "etcd (3-node cluster)",
  cluster: {
    start: (at) => startEtcd({ nodes: 3, ...at }),
    killLeader: { downFor: 3 * 2000 },
    partitionLeader: { holdFor: 3 * 2000 },
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
