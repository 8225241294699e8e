// Measure how long each start function takes until the server (every node) is ready, several runs each,
// one server at a time, and print a Markdown table of medians. Needs a build: `pnpm build` first.
// Usage: node scripts/readiness.mjs [runs=7] [kind[:nodes] ...]
import { startServer } from "../dist/index.js";

const [runsArg, ...requested] = process.argv.slice(2);
const runs = Number(runsArg ?? 7);
const cases = (
  requested.length > 0
    ? requested
    : ["zookeeper:1", "zookeeper:3", "etcd:1", "etcd:3", "redis:1", "postgres:1", "mariadb:1"]
).map((spec) => {
  const [kind, nodes = "1"] = spec.split(":");
  return { kind, nodes: Number(nodes) };
});

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

console.log("| server | nodes | median ms | min ms | max ms | runs |");
console.log("|---|---|---|---|---|---|");
for (const { kind, nodes } of cases) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const server = await startServer(kind, { nodes });
    times.push(performance.now() - t0);
    await server.close();
  }
  const r = (x) => Math.round(x);
  console.log(
    `| ${kind} | ${nodes} | ${r(median(times))} | ${r(Math.min(...times))} | ${r(Math.max(...times))} | ${runs} |`,
  );
}
