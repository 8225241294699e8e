// The endurance soak of @rollcall/conformance against a throwaway standalone ZooKeeper, outside vitest (so
// that a native abort shows its message and signal), with the server's traffic sampled every second:
//   node scripts/soak.mjs [minutes] [report.json|-] [calm|storms] [journalRetention ms]
// `calm` runs the load without the storms (server pause, kill and restart). Prints the soak's progress lines, then a summary: ops/s, heap slope, seq-order violations, errors, the
// peak of packets/s the server received, and the peak and final znode counts.
import { writeFileSync } from "node:fs";
import { connect as tcp } from "node:net";
import { serverStorms, soak, soakViolations } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

const minutes = Number(process.argv[2] ?? 3);
const out = process.argv[3] === "-" ? undefined : process.argv[3];
const calm = process.argv[4] === "calm";
const retention = process.argv[5];
process.env.ROLLCALL_SOAK_MINUTES = String(minutes);
const SESSION_TIMEOUT = 2000;

/** `mntr` of the server, as numbers. */
function mntr(port) {
  return new Promise((resolve) => {
    let text = "";
    const socket = tcp({ host: "127.0.0.1", port }, () => socket.end("mntr"));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("data", (chunk) => {
      text += chunk;
    });
    socket.on("close", () => {
      const values = new Map();
      for (const line of text.split("\n")) {
        const [key, value] = line.split("\t");
        if (key && value !== undefined && !Number.isNaN(Number(value))) values.set(key, Number(value));
      }
      resolve(values);
    });
    socket.on("error", () => {});
  });
}

const server = await startZooKeeper({ nodes: 1 });
const port = Number(new URL(server.url).port);
const traffic = { peakPacketsPerSecond: 0, peakZnodes: 0, finalZnodes: 0, peakOutstanding: 0 };
let last;
const sampler = setInterval(async () => {
  const m = await mntr(port);
  const packets = m.get("zk_packets_received");
  const now = performance.now();
  if (packets !== undefined) {
    if (last && packets >= last.packets) {
      const rate = ((packets - last.packets) * 1000) / (now - last.at);
      traffic.peakPacketsPerSecond = Math.max(traffic.peakPacketsPerSecond, Math.round(rate));
    }
    last = { packets, at: now };
  }
  traffic.peakZnodes = Math.max(traffic.peakZnodes, m.get("zk_znode_count") ?? 0);
  traffic.peakOutstanding = Math.max(traffic.peakOutstanding, m.get("zk_outstanding_requests") ?? 0);
}, 1000);
sampler.unref();

try {
  const url = retention ? `${server.url}?journalRetention=${retention}` : server.url;
  const report = await soak(
    { name: "zookeeper", sessionTimeout: SESSION_TIMEOUT, setup: async () => ({ url }) },
    { url, storms: calm ? [] : serverStorms(server, SESSION_TIMEOUT) },
  );
  clearInterval(sampler);
  traffic.finalZnodes = (await mntr(port)).get("zk_znode_count") ?? -1;
  const summary = {
    seconds: report.seconds,
    opsPerSecond: report.opsPerSecond,
    heapSlope: report.heapSlope,
    heapMb: report.samples.map((s) => s.heapMb),
    rssMb: report.samples.map((s) => s.rssMb),
    seqOrderViolations: report.watcher?.seqOrderViolations,
    joins: report.watcher?.joins,
    firstViolation: report.watcher?.firstViolation,
    calmErrors: report.calmErrors,
    stormErrors: report.stormErrors,
    storms: report.storms,
    converged: report.converged,
    ...traffic,
    violations: soakViolations(report),
  };
  process.stderr.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (out) writeFileSync(out, `${JSON.stringify({ summary, report }, null, 2)}\n`);
} finally {
  await server.close();
}
process.exit(0);
