import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "etcd",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startEtcd({ nodes: 1 }), SESSION_TIMEOUT),
});
