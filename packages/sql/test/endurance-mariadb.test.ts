import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startMariaDB } from "@rollcall/servers";
import "@rollcall/sql";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "mariadb",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startMariaDB(), SESSION_TIMEOUT),
});
