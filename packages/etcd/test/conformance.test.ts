import { runConformance } from "@rollcall/conformance";
import { secureEtcd, startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

// A single member keeps its leases across a restart (they are persisted, and refreshed when the
// member comes back), so sessions survive it. Secure: TLS with client certificates and authentication.
runConformance({
  name: "etcd (single node)",
  server: {
    start: startEtcd,
    secure: ({ namespacePrefix }) => secureEtcd({ keyPrefix: namespacePrefix }),
    restart: { preservesSessions: true },
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
});
