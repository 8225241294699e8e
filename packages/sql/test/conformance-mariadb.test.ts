import { runConformance } from "@rollcall/conformance";
import { secureMariaDB, startMariaDB } from "@rollcall/servers";
import "@rollcall/sql";

// A restart may outlast the session timeout: members then come back by re-joining.
runConformance({
  name: "mariadb",
  server: {
    start: startMariaDB,
    secure: () => secureMariaDB(),
    restart: { preservesSessions: false },
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
