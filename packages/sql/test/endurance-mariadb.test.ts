import { runEndurance, serverStorms } from "@rollcall/conformance";
import { startMariaDB } from "@rollcall/servers";
import "@rollcall/sql";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "mariadb",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => {
    const server = await startMariaDB();
    return {
      url: server.url,
      storms: serverStorms(server, SESSION_TIMEOUT),
      stats: () => server.stats(),
      close: () => server.close(),
    };
  },
});
