import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "etcd (3-node cluster)",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startEtcd({ nodes: 3 }), SESSION_TIMEOUT),
});
