/**
 * Nova-style instance HA: four compute services (separate processes) join `compute` listing the
 * instances they run; two reactor processes run `coord.reactor("compute", evacuation(…))` — one acts,
 * the other stands by. Then compute-2 is SIGKILLed: once its session expires, the acting reactor
 * evacuates its instances onto live computes chosen by the `Partitioner`, each placement a fenced
 * compare-and-set in the `placements` configuration, and the targets start them.
 *
 * `--kill-reactor after-compute` also SIGKILLs the acting reactor right after the compute (the standby
 * takes over and finds the departure itself); `--kill-reactor mid-evacuation` SIGKILLs it after its first
 * placement (the standby runs the handler again and leaves that placement alone). `--boot-ms N`: how long
 * a compute takes to start an evacuated instance (default 0; `mid-evacuation` needs it above the time a
 * SIGKILL takes to land, say 500).
 *
 * Usage: node dist/instance-ha/instance-ha.js <url> [--kill-reactor after-compute|mid-evacuation] [--boot-ms N]
 * The URL (or `ROLLCALL_ETCD_URL`, as `rollcall-servers run etcd` exports it) must name a backend whose
 * configuration store other processes share: etcd, Redis, … — not `memory://`. Without `sessionTimeout`
 * in it, 2000 ms is used; without `namespace`, a fresh one that is removed at the end.
 * Prints what happens, then one line `result {…}` (JSON).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Coordinator, connect, REACTOR_CONFIG, RollcallError } from "@rollcall/core";
import { ExampleProcess } from "./example-process.js";
import { COMPUTE_GROUP, REACTOR_NAME } from "./names.js";
import {
  decodePlacement,
  instanceOfKey,
  instancesOf,
  PLACEMENT_PREFIX,
  PLACEMENTS,
  placementKey,
} from "./placement.js";
import type { Reported } from "./report.js";
import { changesOf, until } from "./until.js";

const HOSTS = ["compute-1", "compute-2", "compute-3", "compute-4"];
const VICTIM = "compute-2";
const INSTANCES_PER_HOST = 4;
const REACTORS = ["reactor-1", "reactor-2"];
const KILL_REACTOR = ["none", "after-compute", "mid-evacuation"] as const;
type KillReactor = (typeof KILL_REACTOR)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "kill-reactor": { type: "string", default: "none" },
    "boot-ms": { type: "string", default: "0" },
  },
});
const killReactor = values["kill-reactor"] as KillReactor;
const bootMs = Number(values["boot-ms"]);
const given = positionals[0] ?? process.env.ROLLCALL_ETCD_URL;
if (!given || !KILL_REACTOR.includes(killReactor) || !Number.isInteger(bootMs) || bootMs < 0) {
  console.error(
    "usage: instance-ha <url> [--kill-reactor after-compute|mid-evacuation] [--boot-ms N]\n" +
      "  e.g. pnpm exec rollcall-servers run etcd -- node dist/instance-ha/instance-ha.js",
  );
  process.exit(2);
}
const withParam = (url: string, name: string, value: string) =>
  new RegExp(`[?&]${name}=`).test(url) ? url : `${url}${url.includes("?") ? "&" : "?"}${name}=${value}`;
const ownNamespace = !/[?&]namespace=/.test(given);
const url = withParam(
  withParam(given, "sessionTimeout", "2000"),
  "namespace",
  `instance-ha-${randomBytes(4).toString("hex")}`,
);

const started = Date.now();
const log = (who: string, line: string) =>
  console.log(`${String(Date.now() - started).padStart(6)} ms  ${who.padEnd(10)} ${line}`);

/** A report, in words. */
function describe(event: Reported): string {
  switch (event.event) {
    case "up":
      return `up, running ${event.instances.join(", ")}`;
    case "rebuilding":
      return `rebuilding ${event.instance}`;
    case "running":
      return `running ${event.instances.join(", ")}`;
    case "state":
      return event.state;
    case "evacuating":
      return `evacuating ${event.from} (key ${event.key}, token ${event.token}, attempt ${event.attempt}): ${event.instances.join(", ")}`;
    case "placed":
      return `placed ${event.instance} on ${event.host} (token ${event.token})`;
    case "kept":
      return `kept ${event.instance} on ${event.host} (already placed for ${event.key} with token ${event.token})`;
    case "handled":
      return `handled ${event.key} in ${event.ms} ms (recorded)`;
    case "failed":
      return `handler failed on ${event.key} (attempt ${event.attempt}): ${event.error}; again in ${event.retryIn} ms`;
    case "braked":
      return `BRAKED: ${event.departures} of ${event.size} departed at once`;
  }
}

async function main(admin: Coordinator): Promise<void> {
  if (admin.backend === "memory" || admin.characteristics.config === "none") {
    throw new Error(
      `the ${admin.backend} backend cannot run this example: it needs a configuration store every process shares`,
    );
  }
  const timeout = admin.sessionTimeout;
  // Not the URL: it may hold credentials.
  const namespace = /[?&]namespace=([^&]*)/.exec(url)?.[1] ?? "";
  log(
    "driver",
    `${admin.backend}, session timeout ${timeout} ms, namespace ${decodeURIComponent(namespace)}`,
  );
  await admin.createGroup(COMPUTE_GROUP).catch((error: unknown) => {
    if (!RollcallError.hasCode(error, "GROUP_EXISTS")) throw error;
  });
  const computes = await admin.view(COMPUTE_GROUP);
  const placements = await admin.config(PLACEMENTS).view({ prefix: PLACEMENT_PREFIX });
  const known = await admin.config(REACTOR_CONFIG).view({ prefix: `${REACTOR_NAME}/known/` });
  const processes: ExampleProcess[] = [];
  const show = (event: Reported) => log(event.who, describe(event));
  const script = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  try {
    const before: Record<string, string[]> = {};
    HOSTS.forEach((host, h) => {
      before[host] = Array.from(
        { length: INSTANCES_PER_HOST },
        (_, i) => `vm-${String(h * INSTANCES_PER_HOST + i + 1).padStart(2, "0")}`,
      );
    });
    const hosts = HOSTS.map(
      (host) =>
        new ExampleProcess(
          host,
          script("compute-node"),
          [url, host, (before[host] ?? []).join(","), String(bootMs)],
          show,
        ),
    );
    processes.push(...hosts);
    const startup = 10 * timeout;
    await Promise.all(hosts.map((c) => c.waitFor("up", (e) => e.event === "up", startup)));
    const reactors = REACTORS.map((id) => new ExampleProcess(id, script("ha-reactor"), [url, id], show));
    processes.push(...reactors);
    await until(
      "one reactor acting, the other standing by",
      () =>
        reactors.filter((r) => r.lastState() === "acting").length === 1 &&
        reactors.filter((r) => r.lastState() === "standby").length === 1,
      reactors.map((r) => r.changes),
      startup,
    );
    const first = reactors.find((r) => r.lastState() === "acting") as ExampleProcess;
    // A departure is seen only for a member the reactor knew: wait until it has recorded every compute.
    await until(
      "the acting reactor recording every compute",
      () => HOSTS.every((h) => known.has(`${REACTOR_NAME}/known/${h}`) && computes.has(h)),
      [changesOf(known), changesOf(computes)],
      startup,
    );
    const victim = computes.get(VICTIM);
    if (victim === undefined) throw new Error(`${VICTIM} is not up`);
    const departureKey = `${VICTIM}@${victim.seq}`;

    log("driver", `SIGKILL ${VICTIM} (its departure will be ${departureKey})`);
    const killedAt = Date.now();
    hosts[HOSTS.indexOf(VICTIM)]?.kill();
    if (killReactor === "after-compute") {
      log("driver", `SIGKILL ${first.name}, the acting reactor, right after`);
      first.kill();
    }
    // Expiry (≤ 1 timeout), the reactor's hold (1 timeout), a failover (1 more), the rebuilds, and slack.
    const deadline = 8 * timeout + 2 * INSTANCES_PER_HOST * bootMs;
    if (killReactor === "mid-evacuation") {
      await first.waitFor("its first placement", (e) => e.event === "placed", deadline);
      log("driver", `SIGKILL ${first.name}, the acting reactor, in the middle of the evacuation`);
      first.kill();
    }
    const moved = before[VICTIM] ?? [];
    const handled = () =>
      reactors.flatMap((r) => r.events).find((e) => e.event === "handled" && e.key === departureKey);
    await until(
      `the evacuation of ${VICTIM} recorded, every instance running on a live compute`,
      () =>
        handled() !== undefined &&
        moved.every((instance) => {
          const placement = decodePlacement(placements.get(placementKey(instance))?.value);
          const target = placement && computes.get(placement.host);
          return target !== undefined && instancesOf(target.metadata).includes(instance);
        }),
      [...reactors.map((r) => r.changes), changesOf(placements), changesOf(computes)],
      deadline,
    );

    const events = reactors
      .flatMap((r) => r.events)
      .filter((e) => "key" in e && e.key === departureKey)
      .sort((a, b) => a.at - b.at);
    const byReactor = (kind: "placed" | "kept") =>
      Object.fromEntries(
        REACTORS.map((id) => [
          id,
          events.flatMap((e) => (e.who === id && e.event === kind ? [e.instance] : [])),
        ]),
      );
    const startedAt = events.find((e) => e.event === "evacuating")?.at ?? Number.NaN;
    const handledAt = handled()?.at ?? Number.NaN;
    const result = {
      backend: admin.backend,
      sessionTimeout: timeout,
      killReactor,
      victim: VICTIM,
      departureKey,
      firstReactor: first.name,
      killedReactor: killReactor === "none" ? undefined : first.name,
      handledBy: handled()?.who,
      before,
      after: Object.fromEntries(
        HOSTS.filter((h) => h !== VICTIM).map((h) => [h, instancesOf(computes.get(h)?.metadata ?? {})]),
      ),
      placements: Object.fromEntries(
        placements.entries().map((entry) => {
          const p = decodePlacement(entry.value);
          return [instanceOfKey(entry.key), p ? { ...p, token: p.token.toString() } : entry.value];
        }),
      ),
      runs: Object.fromEntries(
        REACTORS.map((id) => [id, events.filter((e) => e.who === id && e.event === "evacuating").length]),
      ),
      placedBy: byReactor("placed"),
      keptBy: byReactor("kept"),
      timings: {
        killToHandlerMs: startedAt - killedAt,
        killToHandledMs: handledAt - killedAt,
        killToHandlerTimeouts: Number(((startedAt - killedAt) / timeout).toFixed(2)),
        killToHandledTimeouts: Number(((handledAt - killedAt) / timeout).toFixed(2)),
      },
    };
    log("driver", `kill → handler started: ${result.timings.killToHandlerMs} ms`);
    log("driver", `kill → evacuation recorded: ${result.timings.killToHandledMs} ms`);
    console.log(`result ${JSON.stringify(result)}`);
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all([computes.close(), placements.close(), known.close()]);
    if (ownNamespace) await cleanUp(admin);
  }
}

/** Removes what the run left in a namespace of its own (placements, the reactor's progress, the group). */
async function cleanUp(admin: Coordinator): Promise<void> {
  for (const [store, prefix] of [
    [PLACEMENTS, ""],
    [REACTOR_CONFIG, `${REACTOR_NAME}/`],
  ] as const) {
    const { entries } = await admin.config(store).entries({ prefix });
    for (const entry of entries) await admin.config(store).delete(entry.key);
  }
  // The SIGKILLed compute's member is gone once its session expired; the group may still hold it briefly.
  await admin.deleteGroup(COMPUTE_GROUP).catch(() => {});
}

const admin = await connect(url, { memberId: "instance-ha-driver" });
try {
  await main(admin);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await admin.close();
}
