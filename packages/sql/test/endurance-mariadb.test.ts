import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startMariaDB } from "@rollcall/servers";
import "@rollcall/sql";

const SESSION_TIMEOUT = 2000;

// The storms kill the server: it must not lose commits it acknowledged. The test server's default,
// `innodb_flush_log_at_trx_commit=0`, drops up to a second of them on a crash, and the revisions it hands
// out next repeat ones watchers have already seen. At 2 each commit reaches the OS, which a killed
// process cannot lose.
const DURABLE = ["--innodb-flush-log-at-trx-commit=2"];

runEndurance({
  name: "mariadb",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startMariaDB({ extraArgs: DURABLE }), SESSION_TIMEOUT),
});
