import { runConformance } from "@rollcall/conformance";
import { securePostgres, startPostgres } from "@rollcall/servers";
import "@rollcall/sql";

// A restart may outlast the session timeout: members then come back by re-joining.
runConformance({
  name: "postgresql",
  server: {
    start: startPostgres,
    secure: () => securePostgres(),
    restart: { preservesSessions: false },
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
