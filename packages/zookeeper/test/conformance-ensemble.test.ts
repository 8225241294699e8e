import { runConformance } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

// Losing the leader — killed, or cut off from the others and from its clients for two session timeouts —
// moves clients to a follower: sessions survive. syncLimit × tickTime (1 s) well below the session timeout:
// a partitioned leader is noticed — by its followers, and by itself, which then drops its clients — fast
// enough for them to reconnect to the new quorum in time. 3 s rather than the standalone runs' 2 s: such a
// failover (notice, elect, reconnect) must fit in every session on a loaded 2-core machine too.
runConformance({
  name: "zookeeper (3-node ensemble)",
  cluster: { start: (at) => startZooKeeper({ nodes: 3, config: { syncLimit: 2 }, ...at }) },
  timing: { sessionTimeout: 3000, detectionSlack: 1500 },
});
