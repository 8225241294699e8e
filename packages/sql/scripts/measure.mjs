// Measures the numbers in README.md: crash detection as a multiple of the session timeout, join →
// watcher event latency, and statements per idle member. Run after `pnpm build`:
//   node scripts/measure.mjs [runs]
// It starts its own PostgreSQL and MariaDB (@rollcall/servers) and a SQLite temp file.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMON_PARAMS, connect, parseUrl } from "@rollcall/core";
import { startMariaDB, startPostgres } from "@rollcall/servers";
import { SqlDriver } from "@rollcall/sql";

const RUNS = Number(process.argv[2] ?? 7);
const MEMBER = fileURLToPath(new URL("../test/fixtures/member.mjs", import.meta.url));
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rid = (p) => `${p}-${Math.random().toString(16).slice(2, 10)}`;
const withQuery = (url, q) => `${url}${url.includes("?") ? "&" : "?"}${new URLSearchParams(q)}`;

function spawnMember(url, id, group) {
  const child = fork(MEMBER, [url, id, group], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [],
  });
  const ready = new Promise((resolve, reject) => {
    child.on("message", (m) => m.type === "ready" && resolve());
    child.on("exit", (code) => reject(new Error(`member exited ${code}`)));
  });
  return { child, ready };
}

function waitForEvent(view, predicate, timeout) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), timeout);
    const on = (e) => {
      if (predicate(e)) {
        clearTimeout(timer);
        view.off("change", on);
        resolve(performance.now());
      }
    };
    view.on("change", on);
  });
}

async function crashDetection(name, base, sessionTimeout) {
  const ratios = [];
  for (let run = 0; run < RUNS; run++) {
    const url = withQuery(base, { namespace: rid("crash"), sessionTimeout });
    const watcher = await connect(url, { memberId: "watcher" });
    await watcher.createGroup("compute");
    const view = await watcher.view("compute");
    const { child, ready } = spawnMember(url, "victim", "compute");
    await ready;
    while (!view.has("victim")) await sleep(10);
    // Kill at a random phase of the victim's heartbeat.
    await sleep(200 + Math.random() * (sessionTimeout / 3));
    const gone = waitForEvent(view, (e) => e.type === "leave" && e.memberId === "victim", sessionTimeout * 5);
    const killedAt = performance.now();
    child.kill("SIGKILL");
    const seenAt = await gone;
    ratios.push((seenAt - killedAt) / sessionTimeout);
    await view.close();
    await watcher.close();
  }
  console.log(
    `${name}: crash detection / sessionTimeout (${sessionTimeout} ms): median ${median(ratios).toFixed(2)}, min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}`,
  );
  return median(ratios);
}

async function joinLatency(name, base, query) {
  const latencies = [];
  const url = withQuery(base, { namespace: rid("lat"), ...query });
  const watcher = await connect(url, { memberId: "watcher" });
  const joiner = await connect(url, { memberId: "joiner" });
  await watcher.createGroup("compute");
  const view = await watcher.view("compute");
  for (let run = 0; run < RUNS * 3; run++) {
    // A random phase against the poll loop.
    await sleep(50 + Math.random() * 1000);
    const seen = waitForEvent(view, (e) => e.type === "join" && e.member.id === "joiner", 10_000);
    const t0 = performance.now();
    await joiner.join("compute");
    latencies.push((await seen) - t0);
    const left = waitForEvent(view, (e) => e.type === "leave", 10_000);
    await joiner.leave("compute");
    await left;
  }
  await view.close();
  await joiner.close();
  await watcher.close();
  console.log(
    `${name} ${JSON.stringify(query)}: join → watcher event median ${median(latencies).toFixed(1)} ms (min ${Math.min(...latencies).toFixed(1)}, max ${Math.max(...latencies).toFixed(1)})`,
  );
}

async function idleStatements(name, dialect, base, members, windowMs, query) {
  const namespace = rid("idle");
  const url = withQuery(base, query);
  const parsed = () => {
    const u = parseUrl(url);
    for (const k of COMMON_PARAMS) u.params.delete(k);
    return u;
  };
  const drivers = [];
  for (let i = 0; i < members; i++) {
    const d = new SqlDriver(dialect, {
      url: parsed(),
      memberId: `compute-${i}`,
      namespace,
      sessionTimeout: 10_000,
      logger: silent,
      maxMetadataBytes: 65536,
    });
    await d.open({ state() {}, renewed() {} }, AbortSignal.timeout(30_000));
    if (i === 0) await d.createGroup("compute");
    await d.join("compute", `compute-${i}`, { host: `compute-${i}` });
    drivers.push(d);
  }
  await sleep(drivers[0].heartbeatInterval);
  const before = drivers.reduce((n, d) => n + d.statements, 0);
  const t0 = performance.now();
  await sleep(windowMs);
  const after = drivers.reduce((n, d) => n + d.statements, 0);
  const seconds = (performance.now() - t0) / 1000;
  const perThousand = ((after - before) / seconds) * (1000 / members);
  console.log(
    `${name} ${JSON.stringify(query)}: ${members} idle members, heartbeat every ${drivers[0].heartbeatInterval} ms: ${after - before} statements in ${seconds.toFixed(1)} s = ${perThousand.toFixed(1)} statements/s per 1,000 members`,
  );
  await Promise.all(drivers.map((d) => d.close()));
  return perThousand;
}

async function restart(name, server, base, sessionTimeout) {
  const results = [];
  for (let run = 0; run < Math.min(RUNS, 3); run++) {
    const url = withQuery(base, { namespace: rid("restart"), sessionTimeout, retryInterval: 200 });
    const watcher = await connect(url, { memberId: "watcher" });
    await watcher.createGroup("compute");
    const members = [];
    for (let i = 0; i < 20; i++) {
      const c = await connect(url, { memberId: `m${i}` });
      await c.join("compute");
      members.push(c);
    }
    const view = await watcher.view("compute");
    let expired = 0;
    let leaves = 0;
    for (const c of members) c.on("session", (s) => s === "expired" && expired++);
    view.on("change", (e) => e.type === "leave" && leaves++);
    const t0 = performance.now();
    await server.nodes[0].restart();
    const restarted = performance.now() - t0;
    const ids = members
      .map((c) => c.memberId)
      .sort()
      .join();
    for (;;) {
      const listed = (await watcher.members("compute").catch(() => []))
        .map((m) => m.id)
        .sort()
        .join();
      const viewed = view
        .members()
        .map((m) => m.id)
        .sort()
        .join();
      if (listed === ids && viewed === ids && members.every((c) => c.state === "connected")) break;
      await sleep(20);
    }
    const converged = performance.now() - t0;
    results.push({ restarted, converged, expired, leaves });
    await view.close();
    await Promise.all([...members, watcher].map((c) => c.close()));
  }
  for (const r of results) {
    console.log(
      `${name} restart (sessionTimeout ${sessionTimeout}): server down+up ${r.restarted.toFixed(0)} ms, all 20 back and the view converged ${r.converged.toFixed(0)} ms after the restart began; sessions expired ${r.expired}, leaves seen ${r.leaves}`,
    );
  }
}

const pg = await startPostgres();
const maria = await startMariaDB();
const dir = mkdtempSync(join(tmpdir(), "rollcall-measure-"));
const targets = [
  ["postgresql", "postgresql", pg.url],
  ["mariadb", "mysql", maria.url],
  ["sqlite", "sqlite", `sqlite://${join(dir, "m.db")}`],
];
const what = process.env.MEASURE ?? "crash,latency,idle";
try {
  for (const [name, dialect, url] of targets) {
    if (what.includes("crash")) await crashDetection(name, url, 3000);
    if (what.includes("latency")) {
      await joinLatency(name, url, { sessionTimeout: 3000 });
      if (dialect !== "postgresql") await joinLatency(name, url, { sessionTimeout: 3000, pollInterval: 100 });
    }
    if (what.includes("restart") && dialect !== "sqlite") {
      await restart(name, dialect === "postgresql" ? pg : maria, url, 10_000);
      await restart(name, dialect === "postgresql" ? pg : maria, url, 2000);
    }
    if (what.includes("idle")) {
      await idleStatements(name, dialect, url, 100, 60_000, { report_interval: 10, service_down_time: 60 });
    }
  }
} finally {
  await pg.close();
  await maria.close();
  rmSync(dir, { recursive: true, force: true });
}
