import { runEndurance, serverTarget } from "@rollcall/conformance";
import { startPostgres } from "@rollcall/servers";
import "@rollcall/sql";

const SESSION_TIMEOUT = 2000;

// The storms kill the server: it must not lose commits it acknowledged. The test server's default,
// `synchronous_commit=off`, drops its last moments on a crash, and the revisions it hands out next repeat
// ones watchers have already seen (the driver resynchronises when it sees the counter behind a cursor,
// but new writes can pass the cursor before any watcher reads).
const DURABLE = { synchronous_commit: "on" };

runEndurance({
  name: "postgresql",
  sessionTimeout: SESSION_TIMEOUT,
  setup: async () => serverTarget(await startPostgres({ settings: DURABLE }), SESSION_TIMEOUT),
});
