import { runConformance } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

// A single member keeps its leases across a restart (they are persisted, and refreshed when the
// member comes back), so sessions survive it.
runConformance({
  name: "etcd (single node)",
  setup: async () => {
    const server = await startEtcd({ nodes: 1 });
    const node = server.nodes[0];
    if (!node) throw new Error("no etcd node");
    return {
      url: server.url,
      close: () => server.close(),
      faults: { restartServer: { run: () => node.restart(), preservesSessions: true } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
});
