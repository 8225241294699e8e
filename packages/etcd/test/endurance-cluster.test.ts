import { runEndurance, serverStorms } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "etcd (3-node cluster)",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => {
    const server = await startEtcd({ nodes: 3 });
    return {
      url: server.url,
      storms: serverStorms(server, SESSION_TIMEOUT),
      stats: () => server.stats(),
      close: () => server.close(),
    };
  },
});
