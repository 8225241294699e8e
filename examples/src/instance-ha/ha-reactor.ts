/**
 * The instance-HA reactor process: `coord.reactor("compute", evacuation(…))` — run two or more; the one
 * holding the election `reactor.instance-ha` acts, the others stand by. Reports JSON lines (see
 * `report.ts`); closes on SIGTERM.
 *
 * Usage: node ha-reactor.js <url> <id>
 */
import { connect, Partitioner, RollcallError } from "@rollcall/core";
import { evacuation } from "./evacuation.js";
import { COMPUTE_GROUP, REACTOR_NAME } from "./names.js";
import { PLACEMENTS } from "./placement.js";
import { LIFELINE, reporter } from "./report.js";

const [url, id] = process.argv.slice(2);
if (!url || !id) {
  console.error("usage: ha-reactor <url> <id>");
  process.exit(2);
}
const report = reporter(id);
const coord = await connect(url, { memberId: id });
await coord.createGroup(COMPUTE_GROUP).catch((error: unknown) => {
  if (!RollcallError.hasCode(error, "GROUP_EXISTS")) throw error;
});
const computes = await coord.view(COMPUTE_GROUP);
const partitioner = new Partitioner(computes, { self: id });
const reactor = await coord.reactor(
  COMPUTE_GROUP,
  evacuation({
    placements: coord.config(PLACEMENTS),
    computes,
    partitioner,
    rebuildTimeout: 5 * coord.sessionTimeout,
    report,
  }),
  // A compute back within a session timeout is not evacuated (the brake's hold waits that long anyway).
  { name: REACTOR_NAME, grace: coord.sessionTimeout },
);
reactor.on("state", (state) => report({ event: "state", state }));
reactor.on("handled", (departure, ms) =>
  report({ event: "handled", key: departure.key, ms: Math.round(ms) }),
);
reactor.on("failed", (departure, error, attempt, retryIn) =>
  report({
    event: "failed",
    key: departure.key,
    attempt,
    retryIn: Math.round(retryIn),
    error: error instanceof Error ? error.message : String(error),
  }),
);
reactor.on("braked", (status) =>
  report({ event: "braked", departures: status.departures, size: status.size }),
);
report({ event: "state", state: reactor.state });

const stop = async () => {
  await reactor.close();
  partitioner.close();
  await computes.close();
  await coord.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Started by the example's driver: when it is gone (its end of our stdin closes), stop too.
if (process.env[LIFELINE] === "1") process.stdin.on("end", stop).resume();
