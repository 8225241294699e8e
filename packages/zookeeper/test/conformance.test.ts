import { runConformance } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

// A standalone server keeps its sessions across a restart within the session timeout.
runConformance({
  name: "zookeeper (standalone)",
  setup: async () => {
    const server = await startZooKeeper({ nodes: 1 });
    const node = server.nodes[0];
    if (!node) throw new Error("no zookeeper node");
    return {
      url: server.url,
      close: () => server.close(),
      faults: { restartServer: { run: () => node.restart(), preservesSessions: true } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
});
