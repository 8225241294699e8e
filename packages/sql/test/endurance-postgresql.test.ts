import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startPostgres } from "@rollcall/servers";
import "@rollcall/sql";

const SESSION_TIMEOUT = 2000;

runEndurance({
  name: "postgresql",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startPostgres(), SESSION_TIMEOUT),
});
