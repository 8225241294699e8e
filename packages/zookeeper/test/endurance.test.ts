import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

const SESSION_TIMEOUT = 2000;

// Storms: the server paused for a quarter of the session timeout, then killed and restarted on the same
// port and data (its snapshot and log keep every session: members survive a restart within the timeout).
runEndurance({
  name: "zookeeper",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startZooKeeper({ nodes: 1 }), SESSION_TIMEOUT),
});
