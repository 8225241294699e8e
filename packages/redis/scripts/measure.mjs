// Measures the numbers in README.md against a throwaway Redis from @rollcall/servers.
// Run after `pnpm build`: node scripts/measure.mjs [runs]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { connect } from "@rollcall/core";
import { startRedis } from "@rollcall/servers";
import { Redis } from "ioredis";
import "@rollcall/redis";

const RUNS = Number(process.argv[2] ?? 7);
const fixture = fileURLToPath(new URL("../test/fixtures/member.mjs", import.meta.url));
const id = (p) => `${p}-${randomBytes(4).toString("hex")}`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const url = (base, params) =>
  `${base}?${Object.entries({ namespace: id("ns"), ...params })
    .map(([k, v]) => `${k}=${v}`)
    .join("&")}`;

/** Watches a group; `ready` resolves once the watch has its snapshot, `seen` at the first matching event. */
function nextEvent(coord, group, predicate) {
  const controller = new AbortController();
  let ready;
  const readyPromise = new Promise((r) => {
    ready = r;
  });
  const seen = new Promise((resolve) => {
    void (async () => {
      for await (const event of coord.watch(group, { signal: controller.signal })) {
        if (event.type === "snapshot") ready();
        else if (predicate(event)) {
          resolve(performance.now());
          controller.abort();
        }
      }
    })();
  });
  return { ready: readyPromise, seen };
}

function spawnMember(config) {
  const child = spawn(process.execPath, [fixture], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    env: { ...process.env, ROLLCALL_TEST_MEMBER: JSON.stringify(config) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ready = new Promise((resolve) =>
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (JSON.parse(line).type === "ready") resolve();
    }),
  );
  return { child, ready };
}

async function crashDetection(server, sessionTimeout) {
  const ratios = [];
  for (let i = 0; i < RUNS; i++) {
    const u = url(server.url, { sessionTimeout });
    const watcher = await connect(u, { memberId: "watcher" });
    await watcher.createGroup("g");
    const { child, ready } = spawnMember({ url: u, memberId: "victim", groups: ["g"] });
    await ready;
    // Let the victim's refresh phase be random relative to the kill.
    await sleep(Math.random() * sessionTimeout);
    const left = nextEvent(watcher, "g", (e) => e.type === "leave" && e.memberId === "victim");
    await left.ready;
    const killedAt = performance.now();
    child.kill("SIGKILL");
    const seenAt = await left.seen;
    ratios.push((seenAt - killedAt) / sessionTimeout);
    await watcher.close();
  }
  return ratios;
}

async function joinLatency(server) {
  const u = url(server.url, { sessionTimeout: 10000 });
  const a = await connect(u, { memberId: "a" });
  const w = await connect(u, { memberId: "w" });
  await a.createGroup("g");
  const samples = [];
  for (let i = 0; i < RUNS * 10; i++) {
    const watch = nextEvent(w, "g", (e) => e.type === "join" && e.member.id === "a");
    await watch.ready;
    const t0 = performance.now();
    await a.join("g");
    samples.push((await watch.seen) - t0);
    await a.leave("g");
  }
  await a.close();
  await w.close();
  return samples;
}

async function resignLatency(server) {
  const u = url(server.url, { sessionTimeout: 10000 });
  const a = await connect(u, { memberId: "a" });
  const b = await connect(u, { memberId: "b" });
  const samples = [];
  for (let i = 0; i < RUNS * 3; i++) {
    const name = id("e");
    const la = await a.election(name).campaign();
    const pb = b.election(name).campaign();
    await sleep(50);
    const t0 = performance.now();
    await la.resign();
    const lb = await pb;
    samples.push(performance.now() - t0);
    await lb.resign();
  }
  await a.close();
  await b.close();
  return samples;
}

async function commandStats(admin) {
  const info = await admin.info("commandstats");
  const stats = {};
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) stats[m[1]] = Number(m[2]);
  return stats;
}

async function cpuSeconds(admin) {
  const info = await admin.info("cpu");
  const get = (k) => Number(new RegExp(`^${k}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return get("used_cpu_user") + get("used_cpu_sys");
}

async function idleLoad(sessionTimeout, coordinators, membersEach, windowMs) {
  const server = await startRedis({ extraArgs: ["--appendonly", "no"] });
  const admin = new Redis(server.connectionString);
  const u = url(server.url, { sessionTimeout });
  const coords = [];
  for (let i = 0; i < coordinators; i++) {
    const c = await connect(u, { memberId: `m${i}` });
    for (let g = 0; g < membersEach; g++) await c.join(`g${g}`, { createGroup: true });
    coords.push(c);
  }
  const watcher = await connect(u, { memberId: "watcher" });
  const view = await watcher.view("g0");
  await sleep(sessionTimeout);
  const before = await commandStats(admin);
  const cpuBefore = await cpuSeconds(admin);
  const t0 = performance.now();
  await sleep(windowMs);
  const cpuAfter = await cpuSeconds(admin);
  const after = await commandStats(admin);
  const seconds = (performance.now() - t0) / 1000;
  const delta = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) delta[k] = v - (before[k] ?? 0);
  delete delta.info;
  const total = Object.values(delta).reduce((a, b) => a + b, 0);
  const scripts = (delta.evalsha ?? 0) + (delta.eval ?? 0);
  const members = coordinators * membersEach;
  await view.close();
  await watcher.close();
  for (const c of coords) await c.close();
  admin.disconnect();
  await server.close();
  return {
    sessionTimeout,
    coordinators,
    members,
    scriptCallsPerSecPer1000Members: (scripts / seconds) * (1000 / members),
    commandsPerSecPer1000Members: (total / seconds) * (1000 / members),
    redisCpuPercent: ((cpuAfter - cpuBefore) / seconds) * 100,
    delta,
  };
}

const server = await startRedis({ extraArgs: ["--appendonly", "no"] });
try {
  const results = {};
  for (const t of [2000, 4000, 10000]) {
    const r = await crashDetection(server, t);
    results[`crash detection / sessionTimeout (T=${t})`] = {
      median: median(r),
      min: Math.min(...r),
      max: Math.max(...r),
      runs: r.length,
    };
  }
  const j = await joinLatency(server);
  results["join -> watcher event (ms)"] = {
    median: median(j),
    min: Math.min(...j),
    max: Math.max(...j),
    runs: j.length,
  };
  const l = await resignLatency(server);
  results["resign -> new leader (ms)"] = {
    median: median(l),
    min: Math.min(...l),
    max: Math.max(...l),
    runs: l.length,
  };
  console.log(JSON.stringify(results, null, 2));
} finally {
  await server.close();
}
for (const [t, coordinators, each] of [
  [10000, 1000, 1],
  [2000, 1000, 1],
  [10000, 1, 1000],
]) {
  console.log(JSON.stringify(await idleLoad(t, coordinators, each, 30000)));
}
process.exit(0);
