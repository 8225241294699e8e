import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

const SESSION_TIMEOUT = 2000;

// Storms on a 3-node ensemble: the first node paused for a quarter of the session timeout; the second
// node killed and started again after two session timeouts (when it leads, every session is suspended
// for the election).
runEndurance({
  name: "zookeeper-ensemble",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startZooKeeper({ nodes: 3 }), SESSION_TIMEOUT),
});
