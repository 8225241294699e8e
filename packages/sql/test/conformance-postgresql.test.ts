import { runConformance } from "@rollcall/conformance";
import { startPostgres } from "@rollcall/servers";
import "@rollcall/sql";

runConformance({
  name: "postgresql",
  setup: async () => {
    const server = await startPostgres();
    return {
      url: server.url,
      close: () => server.close(),
      // A restart may outlast the session timeout: members then come back by re-joining.
      faults: { restartServer: { run: () => server.nodes[0]!.restart(), preservesSessions: false } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
});
