// Measures the numbers in README.md against real servers from @rollcall/servers:
//   node scripts/measure.mjs [runs]
// crash detection (SIGKILL of a member process → leave at a watcher), join → watcher event latency,
// and graceful resign → new leader latency, on a standalone server and a 3-node ensemble.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { connect } from "@rollcall/core";
import { startZooKeeper } from "@rollcall/servers";
import "@rollcall/zookeeper";

const runs = Number(process.argv[2] ?? 7);
const fresh = (p) => `${p}-${randomBytes(4).toString("hex")}`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const member = fileURLToPath(new URL("./member.mjs", import.meta.url));

function nextEvent(view, predicate) {
  return new Promise((resolve) => {
    const on = (e) => {
      if (predicate(e)) {
        view.off("change", on);
        resolve(performance.now());
      }
    };
    view.on("change", on);
  });
}

async function crashDetection(base, sessionTimeout) {
  const url = `${base}/${fresh("m")}?sessionTimeout=${sessionTimeout}`;
  const watcher = await connect(url, { memberId: "watcher" });
  await watcher.createGroup("compute");
  const view = await watcher.view("compute");
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    const id = fresh("crash");
    const child = spawn(process.execPath, [member, url, id, "compute"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    while (!view.isUp(id)) await new Promise((r) => setTimeout(r, 5));
    // Kill at a random point of the ping cycle.
    await new Promise((r) => setTimeout(r, Math.random() * sessionTimeout));
    const left = nextEvent(view, (e) => e.type === "leave" && e.memberId === id);
    const killedAt = performance.now();
    child.kill("SIGKILL");
    ratios.push(((await left) - killedAt) / sessionTimeout);
  }
  await watcher.close();
  return ratios;
}

async function joinLatency(base) {
  const url = `${base}/${fresh("m")}`;
  const watcher = await connect(url, { memberId: "watcher" });
  await watcher.createGroup("compute");
  const view = await watcher.view("compute");
  const joiner = await connect(url, { memberId: "joiner" });
  const ms = [];
  for (let i = 0; i < runs * 3; i++) {
    const seen = nextEvent(view, (e) => e.type === "join");
    const start = performance.now();
    await joiner.join("compute");
    ms.push((await seen) - start);
    const gone = nextEvent(view, (e) => e.type === "leave");
    await joiner.leave("compute");
    await gone;
  }
  await Promise.all([joiner.close(), watcher.close()]);
  return ms;
}

async function resignLatency(base) {
  const url = `${base}/${fresh("m")}`;
  const a = await connect(url, { memberId: "a" });
  const b = await connect(url, { memberId: "b" });
  const ms = [];
  let [leader, next] = [a, b];
  let held = await leader.election("scheduler").campaign();
  for (let i = 0; i < runs * 3; i++) {
    const pending = next.election("scheduler").campaign();
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    await held.resign();
    held = await pending;
    ms.push(performance.now() - start);
    [leader, next] = [next, leader];
  }
  await held.resign();
  await Promise.all([a.close(), b.close()]);
  return ms;
}

/** Spawns a script of this directory; `lines` gets its stdout as parsed JSON lines ("ready" too). */
function run(script, args, lines) {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let buffered = "";
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line.startsWith("{") ? JSON.parse(line) : { ready: true });
    }
  });
  return child;
}

const until = async (check, ms) => {
  const start = performance.now();
  while (!check() && performance.now() - start < ms) await new Promise((r) => setTimeout(r, 5));
};

// 20 member processes and a watcher process (each one coordinator, as services run) through a fault:
// leaves seen by the watcher, sessions expired, time until every session is connected again. This
// process holds no ZooKeeper session, so the servers it restarts inherit none of its sockets.
async function failover(server, fault) {
  const url = `${server.url}/${fresh("m")}?sessionTimeout=4000`;
  const watched = [];
  const watcher = run("./watcher.mjs", [url, "compute"], watched);
  await until(() => watched.some((l) => l.ready), 20_000);
  const members = Array.from({ length: 20 }, (_, i) => {
    const lines = [];
    return { child: run("./member.mjs", [url, fresh(`m${i}`), "compute"], lines), lines };
  });
  await until(() => watched.at(-1)?.size === 20, 30_000);
  const all = () => [watched, ...members.map((m) => m.lines)].map((lines) => lines.filter((l) => l.state));
  const start = performance.now();
  await fault();
  await until(() => all().every((s) => s.length === 0 || s.at(-1).state === "connected"), 30_000);
  const back = performance.now() - start;
  await new Promise((r) => setTimeout(r, 4000));
  const result = {
    back,
    leaves: watched.filter((l) => l.change === "leave").length,
    expired: all().filter((s) => s.some((l) => l.state === "expired")).length,
    suspended: all().filter((s) => s.some((l) => l.state === "suspended")).length,
    size: watched.filter((l) => l.size !== undefined).at(-1)?.size,
  };
  for (const child of [watcher, ...members.map((m) => m.child)]) child.stdin.end();
  await Promise.all(
    [watcher, ...members.map((m) => m.child)].map((c) => new Promise((r) => c.once("exit", r))),
  );
  return result;
}

for (const nodes of [1, 3]) {
  const server = await startZooKeeper({ nodes });
  const label = nodes === 1 ? "standalone" : "3-node ensemble";
  try {
    for (const timeout of [2000, 4000]) {
      const r = await crashDetection(server.url, timeout);
      console.log(
        `${label}: crash detection, sessionTimeout ${timeout}: median ${round(median(r), 2)} × sessionTimeout (${r.map((x) => round(x, 2)).join(", ")})`,
      );
    }
    const j = await joinLatency(server.url);
    console.log(
      `${label}: join → watcher event: median ${round(median(j))} ms (min ${round(Math.min(...j))}, max ${round(Math.max(...j))}, n=${j.length})`,
    );
    const f = [];
    for (let i = 0; i < Math.min(runs, 5); i++) {
      f.push(
        await failover(server, async () => {
          const node = nodes === 1 ? server.nodes[0] : await server.leader();
          await node.kill();
          await node.start();
        }),
      );
    }
    console.log(
      `${label}: ${nodes === 1 ? "server crash + restart" : "leader crash (restarted after)"} with 20 member processes: sessions connected again after median ${round(median(f.map((x) => x.back)))} ms; leaves ${f.map((x) => x.leaves).join("/")}, expiries ${f.map((x) => x.expired).join("/")}, members in the view ${f.map((x) => x.size).join("/")}, sessions suspended ${f.map((x) => x.suspended).join("/")}`,
    );
    const g = await resignLatency(server.url);
    console.log(
      `${label}: resign → new leader: median ${round(median(g))} ms (min ${round(Math.min(...g))}, max ${round(Math.max(...g))}, n=${g.length})`,
    );
  } finally {
    await server.close();
  }
}
process.exit(0);
