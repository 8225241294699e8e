// Stress reproducer for the binding's abort after connection timeouts (yfinkelstein/node-zookeeper#262:
// `Assertion failed: loop->watchers[w->fd] == w`, ``uv_poll_start: Assertion `!uv__is_closing(handle)'``, SIGSEGV).
//   node scripts/timeout-storm.mjs [--seconds 120] [--churn 300] [--healthy 20] [--healthy-timeout 4000]
//                                  [--runs 1] [--storms on|off] [--json file]
// Bounded: the whole run takes --seconds (plus server start-up); numbers and findings are in the README
// ("Connection timeouts: the binding must survive").
//
// The parent starts two standalone ZooKeeper servers (@rollcall/servers) and a "black hole" (a TCP listener that
// accepts and never answers), then runs a worker process and, while it runs, storms the first server: frozen
// with SIGSTOP for 1.5 s, resumed, killed, restarted on the same port and data, over and over.
// The worker (run with --expose-gc) holds:
// - `churn` handles of the npm binding against "server 1, black hole, a closed port", each asking for a
//   session timeout of 200-800 ms (so a connection attempt times out after 2/3 of it), always with one request
//   outstanding. A request that fails with ZOPERATIONTIMEOUT is one connection timeout. The handles are closed
//   and replaced the ways an application does it: inside the completion of a failed request or inside the
//   `connecting` event (both run inside the C client's zookeeper_interest/zookeeper_process), from a microtask
//   queued there, after a session expiry, and after a handle's random lifetime (0.5-6 s);
// - `healthy` handles on server 2, each creating and deleting a znode in a loop. Their longest wait, errors and
//   the event loop's longest stall are reported; at the end the churn stops and every healthy handle must
//   complete another create + delete within 15 s.
// Every second the worker samples its open descriptors (/proc/self/fd) and RSS; it reports RSS and heap after a
// GC once warmed up and at the end, and the descriptors left after closing every handle (versus before).
// The parent prints one JSON summary: runs, aborted processes (by signal), connection timeouts, and the
// worker's numbers. A worker that dies is replaced (until --runs workers ran), so aborts are counted over all
// timeouts made. Exit code 1 when a worker aborted or a healthy handle did not work again.
// TIMEOUT_STORM_BINDING=<directory of another build of the npm package> runs the worker on that build;
// TIMEOUT_STORM_DEBUG=1 passes the worker's stderr through.
import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
const SECONDS = Number(args.get("seconds") ?? 120);
const CHURN = Number(args.get("churn") ?? 300);
const HEALTHY = Number(args.get("healthy") ?? 20);
const RUNS = Number(args.get("runs") ?? 1);
const HEALTHY_TIMEOUT = Number(args.get("healthy-timeout") ?? 4000);

if (process.env.TIMEOUT_STORM_WORKER) await worker();
else await parent();

async function parent() {
  const { startZooKeeper } = await import("@rollcall/servers");
  const stormed = await startZooKeeper({ nodes: 1 });
  const healthy = await startZooKeeper({ nodes: 1 });
  const held = new Set();
  const blackHole = createServer({ allowHalfOpen: false }, (socket) => {
    held.add(socket); // accepted, never answered: the C client's connection attempt times out
    socket.on("error", () => {});
    // Read (and drop) what the C client sends, so that its close is seen: the descriptor goes then. Tens of
    // thousands are accepted over a run; kept open, they ran the parent out of descriptors (EMFILE).
    socket.resume();
    socket.on("end", () => socket.destroy());
    socket.on("close", () => held.delete(socket));
  });
  await new Promise((r) => blackHole.listen(0, "127.0.0.1", r));
  const closedPort = await new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const node = stormed.nodes[0];
  const stormHosts = `${node.host}:${node.port},127.0.0.1:${blackHole.address().port},127.0.0.1:${closedPort}`;
  const summary = {
    seconds: SECONDS,
    churn: CHURN,
    healthy: HEALTHY,
    runs: [],
    aborted: 0,
    connectionTimeouts: 0,
    stormCycles: 0,
  };
  const started = performance.now();
  let stopStorms = false;
  const storms = (async () => {
    while (!stopStorms && args.get("storms") !== "off") {
      node.pause();
      await sleep(1500);
      node.resume();
      await sleep(1000);
      if (stopStorms) break;
      await node.kill();
      await sleep(700);
      await node.start();
      await sleep(1000);
      summary.stormCycles++;
    }
  })();
  try {
    for (let run = 0; run < RUNS; run++) {
      const left = SECONDS * 1000 - (performance.now() - started);
      if (left < 10_000) break;
      summary.runs.push(await runWorker(stormHosts, healthy.connectionString, Math.round(left / 1000)));
    }
  } finally {
    stopStorms = true;
    await storms.catch(() => {});
    for (const socket of held) socket.destroy();
    blackHole.close();
    await stormed.close();
    await healthy.close();
  }
  for (const run of summary.runs) {
    if (run.signal || run.code !== 0) summary.aborted++;
    summary.connectionTimeouts += run.stats?.connectionTimeouts ?? run.lastProgress?.connectionTimeouts ?? 0;
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (args.get("json")) writeFileSync(args.get("json"), `${JSON.stringify(summary, null, 2)}\n`);
  const stalled = summary.runs.some((r) => r.stats && r.stats.healthyRecovered !== HEALTHY);
  process.exit(summary.aborted > 0 || stalled ? 1 : 0);
}

function runWorker(stormHosts, healthyHosts, seconds) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)],
      {
        env: {
          ...process.env,
          TIMEOUT_STORM_WORKER: "1",
          STORM_HOSTS: stormHosts,
          HEALTHY_HOSTS: healthyHosts,
          WORKER_SECONDS: String(seconds),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const run = {
      pid: child.pid,
      seconds: 0,
      code: null,
      signal: null,
      stats: undefined,
      lastProgress: undefined,
    };
    const began = performance.now();
    let stderr = "";
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("progress ")) {
          run.lastProgress = JSON.parse(line.slice(9));
          process.stderr.write(`${line}\n`);
        } else if (line.startsWith("result ")) run.stats = JSON.parse(line.slice(7));
        nl = buffered.indexOf("\n");
      }
    });
    child.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk).slice(-2000);
      if (process.env.TIMEOUT_STORM_DEBUG) process.stderr.write(chunk);
    });
    child.on("exit", (code, signal) => {
      run.code = code;
      run.signal = signal;
      run.seconds = Math.round((performance.now() - began) / 100) / 10;
      if (signal || code !== 0) run.stderrTail = stderr.trim().split("\n").slice(-4);
      process.stderr.write(`worker ${child.pid} exited: code ${code}, signal ${signal}\n`);
      resolve(run);
    });
  });
}

async function worker() {
  const require = createRequire(import.meta.url);
  // TIMEOUT_STORM_BINDING: another build of the npm package to load (a directory), to compare builds.
  const ZooKeeper = require(process.env.TIMEOUT_STORM_BINDING ?? "zookeeper");
  const ZOPERATIONTIMEOUT = -7;
  const ZCONNECTIONLOSS = -4;
  const seconds = Number(process.env.WORKER_SECONDS);
  const stats = {
    connectionTimeouts: 0,
    connectionLosses: 0,
    handlesOpened: 0,
    closedInCompletion: 0,
    closedInConnecting: 0,
    closedInMicrotask: 0,
    closedByTimer: 0,
    closedBySession: 0,
    healthyOps: 0,
    healthyErrors: 0,
    healthyErrorCodes: {},
    healthyEvents: {},
    healthyLongestWaitMs: 0,
    healthyStalledSeconds: 0,
    healthyRecovered: 0,
    fdBeforeAny: 0,
    fdBaseline: 0,
    fdMax: 0,
    fdAfterClose: 0,
    rssWarmMb: 0,
    rssEndMb: 0,
    heapWarmMb: 0,
    heapEndMb: 0,
    loopStallMaxMs: 0,
    slowCloses: 0,
    slowCloseMs: 0,
    rssSamplesMb: [],
    fdSamples: [],
  };
  const fds = () => readdirSync("/proc/self/fd").length;
  const rssMb = () => Math.round(process.memoryUsage().rss / 1e5) / 10;
  const heapMb = () => Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
  // The longest the event loop did not run a 100 ms interval (zookeeper_close() blocks, see the README). It
  // cannot see a timer phase that runs for seconds without polling for I/O (libuv 1.46, patch hunk 5): the
  // interval runs in that same phase.
  let tick = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    stats.loopStallMaxMs = Math.max(stats.loopStallMaxMs, Math.round(now - tick - 100));
    tick = now;
  }, 100);
  let stopping = false; // the healthy handles stop
  let churnStopped = false;

  const healthyError = (rc) => {
    stats.healthyErrors++;
    stats.healthyErrorCodes[rc] = (stats.healthyErrorCodes[rc] ?? 0) + 1;
  };
  // Healthy sessions: create + delete an ephemeral znode in a loop, on the server that is never stormed.
  const healthy = [];
  stats.fdBeforeAny = fds();
  for (let i = 0; i < HEALTHY; i++) {
    const zk = new ZooKeeper({
      connect: process.env.HEALTHY_HOSTS,
      timeout: HEALTHY_TIMEOUT,
      debug_level: 0,
    });
    const h = { zk, ops: 0, lastAnswer: performance.now() };
    healthy.push(h);
    for (const event of ["connecting", "close"]) {
      zk.on(event, () => {
        stats.healthyEvents[event] = (stats.healthyEvents[event] ?? 0) + 1;
      });
    }
    await new Promise((resolve) => {
      zk.once("connect", resolve);
      zk.init({});
    });
    const step = () => {
      if (stopping) return;
      const sent = performance.now();
      const path = `/storm-${process.pid}-${i}`;
      const rc0 = zk.a_create(path, "x", ZooKeeper.constants.ZOO_EPHEMERAL, (rc) => {
        stats.healthyLongestWaitMs = Math.max(
          stats.healthyLongestWaitMs,
          Math.round(performance.now() - sent),
        );
        if (rc !== 0) healthyError(rc);
        const rc1 = zk.a_delete_(path, -1, (rc2) => {
          if (rc2 !== 0) healthyError(rc2);
          h.ops++;
          stats.healthyOps++;
          h.lastAnswer = performance.now();
          setTimeout(step, 20);
        });
        if (rc1 !== 0) {
          healthyError(rc1);
          setTimeout(step, 100);
        }
      });
      if (rc0 !== 0) {
        healthyError(rc0);
        setTimeout(step, 100);
      }
    };
    step();
  }
  await sleep(500);
  global.gc();
  stats.fdBaseline = fds();

  // Churn handles: sessions against hosts that time out.
  const live = new Set();
  const open = () => {
    if (churnStopped) return;
    const timeout = 200 + Math.floor(Math.random() * 600);
    const zk = new ZooKeeper({ connect: process.env.STORM_HOSTS, timeout, debug_level: 0 });
    const handle = { zk, closed: false };
    live.add(handle);
    stats.handlesOpened++;
    const replace = (how) => {
      if (handle.closed) return;
      handle.closed = true;
      live.delete(handle);
      stats[how]++;
      const began = performance.now();
      zk.close(); // blocks while the C client waits for the server's answer to its close request (up to 1.5 s)
      const took = performance.now() - began;
      if (took > 100) {
        stats.slowCloses++;
        stats.slowCloseMs += Math.round(took);
      }
      open();
    };
    const ask = () => {
      if (handle.closed) return;
      const rc0 = zk.a_exists("/", false, (rc) => {
        if (rc === ZOPERATIONTIMEOUT) stats.connectionTimeouts++;
        else if (rc === ZCONNECTIONLOSS) stats.connectionLosses++;
        if (handle.closed) return;
        const r = Math.random();
        if (rc !== 0 && r < 0.2)
          replace("closedInCompletion"); // inside the C client's call
        else if (rc !== 0 && r < 0.3) Promise.resolve().then(() => replace("closedInMicrotask"));
        else if (rc === 0) setTimeout(ask, 50);
        else ask();
      });
      if (rc0 !== 0) setTimeout(ask, 50);
    };
    zk.on("connecting", () => {
      if (Math.random() < 0.1) replace("closedInConnecting");
    });
    zk.on("close", () => replace("closedBySession"));
    setTimeout(() => replace("closedByTimer"), 500 + Math.random() * 5500);
    zk.init({});
    ask();
  };
  // Ramped up over 3 s: opening hundreds of handles in one go blocks the event loop for seconds on a busy
  // machine (each zookeeper_init + connect costs a few ms), which alone times out every other session.
  for (let i = 0; i < CHURN; i++) setTimeout(open, (i * 3000) / CHURN);

  const began = performance.now();
  const sampler = setInterval(() => {
    const fd = fds();
    stats.fdMax = Math.max(stats.fdMax, fd);
    stats.fdSamples.push(fd);
    stats.rssSamplesMb.push(rssMb());
    // A healthy handle that answered nothing for 8 s (longer than any storm) stopped working.
    const now = performance.now();
    for (const h of healthy) if (now - h.lastAnswer > 8000) stats.healthyStalledSeconds++;
    if (stats.fdSamples.length % 5 === 0) {
      const { fdSamples, rssSamplesMb, ...rest } = stats;
      process.stdout.write(
        `progress ${JSON.stringify({ t: Math.round((now - began) / 1000), fd, rss: rssMb(), ...rest })}\n`,
      );
    }
  }, 1000);
  await sleep(Math.min(20_000, (seconds * 1000) / 4));
  global.gc();
  stats.rssWarmMb = rssMb();
  stats.heapWarmMb = heapMb();
  await sleep(Math.max(0, seconds * 1000 - (performance.now() - began) - 20_000));
  churnStopped = true;
  clearInterval(sampler);
  for (const handle of [...live]) {
    handle.closed = true;
    handle.zk.close();
  }
  live.clear();
  // Every healthy handle must work again once the churn is gone: one more create + delete each, within 15 s.
  const opsBefore = healthy.map((h) => h.ops);
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline && healthy.some((h, i) => h.ops === opsBefore[i])) await sleep(100);
  stats.healthyRecovered = healthy.filter((h, i) => h.ops > opsBefore[i]).length;
  stopping = true;
  for (const h of healthy) h.zk.close();
  await sleep(2000);
  global.gc();
  await sleep(500);
  global.gc();
  stats.fdAfterClose = fds();
  stats.rssEndMb = rssMb();
  stats.heapEndMb = heapMb();
  clearInterval(lag);
  // Every handle is closed: the descriptors must be back where they were before the first handle.
  stats.fdAfterCloseVsBaseline = stats.fdAfterClose - stats.fdBeforeAny;
  const { fdSamples, rssSamplesMb, ...rest } = stats;
  process.stdout.write(
    `result ${JSON.stringify({ ...rest, fdSamples: thin(fdSamples), rssSamplesMb: thin(rssSamplesMb) })}\n`,
  );
  process.exit(0);
}

function thin(values) {
  const step = Math.max(1, Math.ceil(values.length / 30));
  return values.filter((_, i) => i % step === 0);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
