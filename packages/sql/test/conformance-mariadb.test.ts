import { runConformance } from "@rollcall/conformance";
import { startMariaDB } from "@rollcall/servers";
import "@rollcall/sql";

runConformance({
  name: "mariadb",
  setup: async () => {
    const server = await startMariaDB();
    return {
      url: server.url,
      close: () => server.close(),
      faults: { restartServer: { run: () => server.nodes[0]!.restart(), preservesSessions: false } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
});
