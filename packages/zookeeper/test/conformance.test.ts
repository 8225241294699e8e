import { runConformance } from "@rollcall/conformance";
import { secureZooKeeper, startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

// A standalone server keeps its sessions across a restart within the session timeout. Secure: digest
// auth, refused when writing below a znode another identity owns (test/acl.test.ts checks the ACLs).
runConformance({
  name: "zookeeper (standalone)",
  server: {
    start: startZooKeeper,
    secure: () => secureZooKeeper(),
    restart: { preservesSessions: true },
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
