/**
 * A Nova-style compute service for the instance-HA example: joins `compute` with the instances it runs
 * as metadata (`{ instances: [...] }`) and follows the `placements` configuration — it starts the
 * instances evacuated onto it (a rebuild that takes `bootMs`) and drops those placed elsewhere (a
 * compute that comes back after its instances were evacuated must not run them twice: Nova's
 * "destroy evacuated instances"). Reports JSON lines (see `report.ts`); leaves on SIGTERM.
 *
 * Usage: node compute-node.js <url> <host> <instance,instance,...> [bootMs]
 */
import { setTimeout as delay } from "node:timers/promises";
import { type ConfigView, connect } from "@rollcall/core";
import { COMPUTE_GROUP } from "./names.js";
import { decodePlacement, instanceOfKey, PLACEMENT_PREFIX, PLACEMENTS, placementKey } from "./placement.js";
import { LIFELINE, reporter } from "./report.js";

const [url, host, list, boot] = process.argv.slice(2);
if (!url || !host || list === undefined) {
  console.error("usage: compute-node <url> <host> <instance,instance,...> [bootMs]");
  process.exit(2);
}
const started = list.split(",").filter((i) => i !== "");
const bootMs = Number(boot ?? 0);
const report = reporter(host);

/** What this compute runs: what it started with unless placed elsewhere, plus what was placed on it. */
function runningHere(placements: ConfigView): string[] {
  const running = new Set<string>();
  for (const instance of started) {
    const placement = decodePlacement(placements.get(placementKey(instance))?.value);
    if (placement === undefined || placement.host === host) running.add(instance);
  }
  for (const entry of placements.entries()) {
    if (decodePlacement(entry.value)?.host === host) running.add(instanceOfKey(entry.key));
  }
  return [...running].sort();
}

const coord = await connect(url, { memberId: host });
const placements = await coord.config(PLACEMENTS).view({ prefix: PLACEMENT_PREFIX });
let running = runningHere(placements);
await coord.join(COMPUTE_GROUP, { createGroup: true, metadata: { instances: running } });
report({ event: "up", instances: running });

/** Brings the metadata in step with the placements; one change at a time. */
async function follow(): Promise<void> {
  const next = runningHere(placements);
  if (next.join() === running.join()) return;
  const adopted = next.filter((i) => !running.includes(i));
  for (const instance of adopted) report({ event: "rebuilding", instance });
  if (adopted.length > 0 && bootMs > 0) await delay(bootMs);
  await coord.updateMetadata(COMPUTE_GROUP, { instances: next });
  running = next;
  report({ event: "running", instances: running });
}

let following = Promise.resolve();
placements.on("change", () => {
  following = following.then(follow).catch((error: unknown) => {
    console.error(`${host}: ${error instanceof Error ? error.message : String(error)}`);
  });
});

const stop = async () => {
  await placements.close();
  await coord.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Started by the example's driver: when it is gone (its end of our stdin closes), stop too.
if (process.env[LIFELINE] === "1") process.stdin.on("end", stop).resume();
