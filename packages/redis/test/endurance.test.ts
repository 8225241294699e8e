import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startRedis } from "@rollcall/servers";
import "@rollcall/redis";

const SESSION_TIMEOUT = 2000;

// Without persistence a restart loses every key: members come back by re-joining.
runEndurance({
  name: "redis",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startRedis({ extraArgs: ["--appendonly", "no"] }), SESSION_TIMEOUT),
});
