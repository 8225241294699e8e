import { runEndurance, serverStorms } from "@rollcall/conformance";
import { startEtcd } from "@rollcall/servers";
import "@rollcall/etcd";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "etcd",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => {
    const server = await startEtcd({ nodes: 1 });
    return {
      url: server.url,
      storms: serverStorms(server, SESSION_TIMEOUT),
      stats: () => server.stats(),
      close: () => server.close(),
    };
  },
});
