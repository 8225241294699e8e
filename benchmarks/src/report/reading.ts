import { BACKENDS, type BackendName } from "../args.js";
import type { BenchResults, ScenarioResult } from "../results.js";
import type { BenchSettings } from "../settings.js";
import { formatBytes, formatMs, formatNumber, formatRatio } from "./format.js";
import { findResult, label, resultsOf, stat } from "./lookup.js";

const POLLING = new Set(["mysql", "sqlite"]);

interface Point {
  result: ScenarioResult;
  value: number;
}

function points(rows: ScenarioResult[], metric: string, pick: "median" | "p99" = "median"): Point[] {
  return rows
    .map((result) => ({ result, value: stat(result, metric)?.[pick] }))
    .filter((p): p is Point => p.value !== undefined);
}

function range(list: Point[], format: (v: number) => string): string {
  if (list.length === 0) return "–";
  const sorted = [...list].sort((a, b) => a.value - b.value);
  const lo = sorted[0] as Point;
  const hi = sorted[sorted.length - 1] as Point;
  if (sorted.length === 1) return `${format(lo.value)} (${lo.result.backend})`;
  return `${format(lo.value)} (${lo.result.backend}) to ${format(hi.value)} (${hi.result.backend})`;
}

function maxOf(list: Point[]): number | undefined {
  return list.length === 0 ? undefined : Math.max(...list.map((p) => p.value));
}

function notifyReading(results: BenchResults, interval: number): string[] {
  const rows = resultsOf(results, "notify");
  const push = points(
    rows.filter((r) => r.kind === "rollcall" && !POLLING.has(r.backend)),
    "joinMs",
  );
  const pushP99 = points(
    rows.filter((r) => r.kind === "rollcall" && !POLLING.has(r.backend)),
    "joinMs",
    "p99",
  );
  const poll = points(
    rows.filter((r) => r.kind === "rollcall" && POLLING.has(r.backend)),
    "joinMs",
  );
  const tooz = points(
    rows.filter((r) => r.kind === "tooz"),
    "joinMs",
  );
  const toozP99 = points(
    rows.filter((r) => r.kind === "tooz"),
    "joinMs",
    "p99",
  );
  const out: string[] = [];
  if (push.length > 0) {
    out.push(
      `**Notify.** rollcall's push backends delivered a join to a watcher in another process in ${range(push, formatMs)} at the median ` +
        `(p99 at most ${formatMs(maxOf(pushP99))}), write included.` +
        (poll.length > 0
          ? ` The polling SQL backends took ${range(poll, formatMs)}: their watchers read the change log every sessionTimeout/4.`
          : ""),
    );
  }
  if (tooz.length > 0) {
    const pairs = tooz
      .map((p) => {
        const mine = stat(findResult(results, `rollcall/${p.result.backend}`, "notify"), "joinMs")?.median;
        return mine === undefined ? undefined : `${formatRatio(p.value / mine)} (${p.result.backend})`;
      })
      .filter((x): x is string => x !== undefined);
    out.push(
      `tooz needed ${range(tooz, formatMs)} (p99 up to ${formatMs(maxOf(toozP99))}) on the same servers: a change waits for the next ` +
        `\`run_watchers()\` (every ${formatMs(interval)}) and its re-list — on average about half the interval` +
        (pairs.length > 0 ? ` — ${pairs.join(", ")} the time rollcall took on the same server` : "") +
        ". A tooz user can shorten the interval, paying a re-list of every watched group per tick.",
    );
  }
  return out;
}

function detectReading(results: BenchResults, bound: number): string[] {
  const rows = resultsOf(results, "detect");
  const rollcall = points(
    rows.filter((r) => r.kind === "rollcall"),
    "detectRatio",
  );
  const rollcallP99 = points(
    rows.filter((r) => r.kind === "rollcall"),
    "detectRatio",
    "p99",
  );
  const tooz = points(
    rows.filter((r) => r.kind === "tooz"),
    "detectRatio",
  );
  const out: string[] = [];
  if (rollcall.length > 0) {
    const within = rollcall.filter((p) => p.value <= 1);
    const late = rollcall.filter((p) => p.value > 1);
    out.push(
      `**Detect.** After a SIGKILL, rollcall's watchers saw the member leave after ${range(rollcall, formatRatio)} the session timeout ` +
        `(median; p99 at most ${formatRatio(maxOf(rollcallP99))}). ` +
        (late.length === 0
          ? "Every backend detected crashes within the timeout at the median."
          : `${within.length} of ${rollcall.length} backends stayed within the timeout at the median; ` +
            late.map((p) => `${p.result.backend} ${formatRatio(p.value)}`).join(", ") +
            " came after it (the server expires a session only after the timeout has passed, plus its own check interval or the watcher's poll)."),
    );
  }
  if (tooz.length > 0) {
    out.push(
      `tooz on the same servers and the same ${formatMs(bound)} bound: ${range(tooz, formatRatio)} (median), including its \`run_watchers()\` delay.`,
    );
  }
  return out;
}

function failoverReading(results: BenchResults): string[] {
  const rows = resultsOf(results, "failover");
  const resign = points(
    rows.filter((r) => r.kind === "rollcall"),
    "resignMs",
  );
  const kill = points(
    rows.filter((r) => r.kind === "rollcall"),
    "killRatio",
  );
  const toozResign = points(
    rows.filter((r) => r.kind === "tooz"),
    "resignMs",
  );
  const toozKill = points(
    rows.filter((r) => r.kind === "tooz"),
    "killRatio",
  );
  const unsupported = rows
    .filter((r) => r.kind === "tooz" && r.status === "unsupported")
    .map((r) => r.backend);
  if (resign.length === 0 && kill.length === 0) return [];
  return [
    `**Failover.** A graceful resign handed rollcall's leadership over in ${range(resign, formatMs)} (median); after a SIGKILL of the ` +
      `leader a new one led after ${range(kill, formatRatio)} the timeout.` +
      (toozResign.length > 0 || toozKill.length > 0
        ? ` tooz: resign ${range(toozResign, formatMs)}, kill ${range(toozKill, formatRatio)} the timeout — its candidates only try ` +
          "for the lock when `run_watchers()` runs."
        : "") +
      (unsupported.length > 0 ? ` tooz has no leader election on ${unsupported.join(", ")}.` : ""),
  ];
}

function churnReading(results: BenchResults): string[] {
  const rows = resultsOf(results, "churn");
  const rollcall = points(
    rows.filter((r) => r.kind === "rollcall"),
    "opsPerSecond",
  );
  const tooz = points(
    rows.filter((r) => r.kind === "tooz"),
    "opsPerSecond",
  );
  if (rollcall.length === 0) return [];
  const diverged = rows.filter((r) => r.status === "ok" && r.values.converged === false).map((r) => label(r));
  return [
    `**Churn.** 50 coordinators sustained ${range(rollcall, (v) => `${formatNumber(v)}/s`)} joins+leaves with rollcall` +
      (tooz.length > 0 ? `, ${range(tooz, (v) => `${formatNumber(v)}/s`)} with tooz` : "") +
      ". " +
      (diverged.length === 0
        ? "Every watcher's view ended equal to `members()`."
        : `The view did **not** converge to \`members()\` for ${diverged.join(", ")}.`),
  ];
}

/** The name of the server a Nova-capable backend runs, in a sentence: the mysql backend is a MariaDB server. */
const NOVA_SERVER_NAMES: Partial<Record<BackendName, string>> = {
  postgresql: "PostgreSQL",
  mysql: "MariaDB",
};

/** One server the Nova DB heartbeat ran on in the results, with its rows and rollcall's on the same server. */
interface NovaServer {
  /** The backend, as results name it: `postgresql`, `mysql`. */
  backend: BackendName;
  /** The server, as a sentence names it: `PostgreSQL`, `MariaDB`. */
  server: string;
  /** The heartbeat's steady cost at Nova's defaults and tuned to the bound. */
  defaults: ScenarioResult | undefined;
  tuned: ScenarioResult | undefined;
  /** The heartbeat's crash detection at Nova's defaults and tuned to the bound. */
  defaultsDetect: ScenarioResult | undefined;
  tunedDetect: ScenarioResult | undefined;
  /** rollcall's steady cost on the same server, one session per member, and its crash detection there. */
  rollcall: ScenarioResult | undefined;
  rollcallDetect: ScenarioResult | undefined;
}

/** The backends with Nova DB heartbeat rows in the results, in page order. */
function novaBackends(results: BenchResults): BackendName[] {
  return BACKENDS.filter((b) => results.results.some((r) => r.kind === "nova" && r.backend === b));
}

/** The servers the Nova DB heartbeat ran on in these results (`PostgreSQL`, `MariaDB`), in page order. */
export function novaServerNames(results: BenchResults): string[] {
  return novaBackends(results).map((b) => NOVA_SERVER_NAMES[b] ?? b);
}

/** Every server with Nova DB heartbeat rows in the results, with its rows and rollcall's on the same server. */
function novaServers(results: BenchResults, settings: BenchSettings): NovaServer[] {
  const defaults = settings.nova?.defaults.label;
  const tuned = settings.nova?.tuned.label;
  return novaBackends(results).map((backend) => {
    const nova = `nova-db/${backend}`;
    return {
      backend,
      server: NOVA_SERVER_NAMES[backend] ?? backend,
      defaults: findResult(results, nova, "steady", defaults),
      tuned: findResult(results, nova, "steady", tuned),
      defaultsDetect: findResult(results, nova, "detect", defaults),
      tunedDetect: findResult(results, nova, "detect", tuned),
      rollcall: findResult(results, `rollcall/${backend}`, "steady", "per-member"),
      rollcallDetect: findResult(results, `rollcall/${backend}`, "detect"),
    };
  });
}

/** Server CPU seconds per minute of a steady result (median), if it ran and has a server. */
function serverCpu(r: ScenarioResult | undefined): number | undefined {
  return stat(r, "serverCpuPerMinute")?.median;
}

/** What a steady result's server counted per second, per its counter: `transactions` (PostgreSQL), `statements` (MariaDB). */
function counted(r: ScenarioResult | undefined): string {
  return typeof r?.values.counter === "string" ? (r.values.counter.split(" ")[0] ?? "requests") : "requests";
}

/** A steady result's server request rate with its unit, `751 transactions/s`. */
function requestRate(r: ScenarioResult | undefined): string {
  return `${formatNumber(stat(r, "requestsPerSecond")?.median)} ${counted(r)}/s`;
}

/**
 * The Nova heartbeat's crash detection on a detect result: the measured median or, where no kill was
 * measured, the middle of its computed bound (`computed`).
 */
function novaDetection(r: ScenarioResult | undefined): { ms: number; computed: boolean } | undefined {
  const measured = stat(r, "detectMs")?.median;
  if (measured !== undefined) return { ms: measured, computed: false };
  if (r?.values.boundLowMs === undefined || r.values.boundHighMs === undefined) return undefined;
  return { ms: (Number(r.values.boundLowMs) + Number(r.values.boundHighMs)) / 2, computed: true };
}

/** The sentence on the heartbeat at Nova's defaults on one server, against ZooKeeper's cost and detection. */
function novaDefaultsSentence(
  results: BenchResults,
  settings: BenchSettings,
  s: NovaServer,
): string | undefined {
  const zkCpu = serverCpu(findResult(results, "rollcall/zookeeper", "steady", "per-member"));
  const cost = serverCpu(s.defaults);
  if (zkCpu === undefined || cost === undefined) return undefined;
  const zkDetect = stat(findResult(results, "rollcall/zookeeper", "detect"), "detectMs")?.median;
  const detection = novaDetection(s.defaultsDetect);
  const r = cost / zkCpu;
  const order = r > 0.33 && r < 3 ? "the same order as" : r >= 3 ? "well above" : "well below";
  return (
    `At Nova's defaults (report every 10 s, down after 60 s) the DB heartbeat cost ${s.server} ${formatNumber(cost)} CPU-s/min ` +
    `(${requestRate(s.defaults)}): ${order} ZooKeeper's ${formatNumber(zkCpu)} CPU-s/min ` +
    `(${formatRatio(r)}) for ${formatNumber(settings.steady?.members)} sessions at a ${formatMs(settings.sessionTimeoutMs)} bound` +
    (detection !== undefined && zkDetect !== undefined
      ? ` — but it detects a crash after ${formatMs(detection.ms)}${detection.computed ? " (middle of the computed bound)" : ""} ` +
        `instead of ${formatMs(zkDetect)}, ${formatRatio(detection.ms / zkDetect)} later.`
      : ".")
  );
}

/** The sentence on the heartbeat tuned to the bound on one server, against every rollcall backend's server CPU. */
function novaTunedSentence(
  results: BenchResults,
  settings: BenchSettings,
  s: NovaServer,
): string | undefined {
  const tuned = serverCpu(s.tuned);
  if (tuned === undefined) return undefined;
  const against = (variant: string) =>
    resultsOf(results, "steady", variant)
      .filter((r) => r.kind === "rollcall")
      .map((r) => ({ backend: r.backend, ratio: tuned / (serverCpu(r) ?? Number.NaN) }))
      .filter((p) => Number.isFinite(p.ratio));
  const ratios = against("per-member");
  const cheaper = ratios.filter((p) => p.ratio < 1).map((p) => p.backend);
  const dearer = ratios.filter((p) => p.ratio >= 1).sort((a, b) => a.ratio - b.ratio);
  const lowestShared = against("shared").sort((a, b) => a.ratio - b.ratio)[0];
  return (
    `Tuned to the same ${formatMs(settings.sessionTimeoutMs)} bound (report every ${formatMs(settings.nova?.tuned.reportIntervalMs)}), ` +
    `the DB heartbeat cost ${s.server} ${formatNumber(tuned)} CPU-s/min and ${requestRate(s.tuned)} for ` +
    `${formatNumber(settings.steady?.members)} services: ` +
    ratios.map((p) => `${formatRatio(p.ratio)} ${p.backend}'s`).join(", ") +
    " server CPU with one rollcall session per member. " +
    (dearer.length > 0
      ? `So it pays more than ${dearer.map((p) => p.backend).join(", ")} — from ${formatRatio(dearer[0]?.ratio)} to ` +
        `${formatRatio(dearer[dearer.length - 1]?.ratio)}` +
        ((dearer[0]?.ratio ?? 0) >= 3
          ? ": several times each of them. "
          : (dearer[dearer.length - 1]?.ratio ?? 0) >= 3
            ? `: several times only against ${dearer
                .filter((p) => p.ratio >= 3)
                .map((p) => p.backend)
                .join(", ")}. `
            : ": less than three times any of them. ")
      : "") +
    (cheaper.length > 0
      ? `It is cheaper than rollcall's ${cheaper.join(", ")} backend at the same bound: there rollcall's heartbeats are row updates too. `
      : "") +
    (lowestShared
      ? `With members sharing sessions (below) the session-based backends cost ${formatRatio(1 / lowestShared.ratio)} or less of it, while the DB pattern pays per service.`
      : "")
  ).trimEnd();
}

/** A count as the page prints it: `45`, `1,009`. */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** A steady result's server processes and their memory (PSS), or undefined if not measured. */
function serverSize(r: ScenarioResult | undefined): { processes: number; memory: string } | undefined {
  if (r?.values.serverProcesses === undefined) return undefined;
  return {
    processes: Number(r.values.serverProcesses),
    memory: r.values.serverMemoryBytes !== undefined ? formatBytes(Number(r.values.serverMemoryBytes)) : "?",
  };
}

/**
 * The sentence comparing rollcall with the heartbeat tuned to the same bound on one server: server CPU
 * (rollcall's as a multiple of the heartbeat's), server processes and memory, and crash detection.
 */
function sameServerSentence(settings: BenchSettings, s: NovaServer): string | undefined {
  const parts: string[] = [];
  const mine = serverCpu(s.rollcall);
  const tuned = serverCpu(s.tuned);
  if (mine !== undefined && tuned !== undefined && tuned > 0) {
    const a = serverSize(s.rollcall);
    const b = serverSize(s.tuned);
    parts.push(
      `rollcall's ${s.backend} backend (one session per member) used ${formatNumber(mine)} CPU-s/min, ` +
        `${formatRatio(mine / tuned)} the tuned heartbeat's ${formatNumber(tuned)}` +
        (a === undefined || b === undefined
          ? ""
          : a.processes !== b.processes
            ? `, with ${count(a.processes)} server processes (${a.memory} PSS) against ${count(b.processes)} (${b.memory})`
            : `, with ${a.memory} of server memory (PSS) against ${b.memory}, ` +
              `${a.processes === 1 ? "one server process" : `${count(a.processes)} server processes`} either way`),
    );
  }
  const bound = settings.sessionTimeoutMs;
  const caught = stat(s.rollcallDetect, "detectMs")?.median;
  const detection = novaDetection(s.tunedDetect);
  if (caught !== undefined && detection !== undefined && bound > 0) {
    parts.push(
      `rollcall's watchers saw a SIGKILLed member leave after ${formatMs(caught)} (${formatRatio(caught / bound)} the timeout), ` +
        `the tuned heartbeat's consumer after ${formatMs(detection.ms)} (${formatRatio(detection.ms / bound)}` +
        `${detection.computed ? ", middle of the computed bound" : ""})`,
    );
  }
  return parts.length === 0 ? undefined : `On the same ${s.server}, ${parts.join("; ")}.`;
}

/** The bullets of the losses list where rollcall pays more than the tuned heartbeat on the same server. */
function novaLosses(settings: BenchSettings, s: NovaServer): string[] {
  const out: string[] = [];
  const mine = serverCpu(s.rollcall);
  const tuned = serverCpu(s.tuned);
  if (mine !== undefined && tuned !== undefined && mine > tuned) {
    out.push(
      `rollcall's ${s.server} backend cost the server more than the tuned Nova heartbeat (${formatNumber(mine)} vs ${formatNumber(tuned)} CPU-s/min).`,
    );
  }
  const a = serverSize(s.rollcall);
  const b = serverSize(s.tuned);
  if (a !== undefined && b !== undefined && a.processes > 2 * b.processes) {
    out.push(
      `rollcall's ${s.server} backend kept a connection per coordinator: ${formatNumber(settings.steady?.members)} members meant ` +
        `${count(a.processes)} ${s.server} processes (${a.memory} PSS) against ${count(b.processes)} for the pooled Nova heartbeat.`,
    );
  }
  return out;
}

function steadyReading(results: BenchResults, settings: BenchSettings): string[] {
  const out: string[] = [];
  const rollcallRows = resultsOf(results, "steady", "per-member").filter((r) => r.kind === "rollcall");
  const cpus = points(rollcallRows, "serverCpuPerMinute");
  const members = formatNumber(settings.steady?.members);
  const bound = formatMs(settings.sessionTimeoutMs);
  if (cpus.length > 0) {
    out.push(
      `**Steady cost.** With ${members} idle members (one session each) at the ${bound} bound, rollcall's servers ` +
        `used ${range(cpus, (v) => `${formatNumber(v)} CPU-s/min`)}.`,
    );
  }
  for (const s of novaServers(results, settings)) {
    out.push(
      ...[
        novaDefaultsSentence(results, settings, s),
        novaTunedSentence(results, settings, s),
        sameServerSentence(settings, s),
      ].filter((x): x is string => x !== undefined),
    );
  }
  const shared = resultsOf(results, "steady", "shared").filter((r) => r.kind === "rollcall");
  const drops = shared
    .map((s) => {
      const p = findResult(results, s.subject, "steady", "per-member");
      const a = serverCpu(p);
      const b = serverCpu(s);
      return a !== undefined && b !== undefined && b > 0 ? `${s.backend} ${formatRatio(a / b)}` : undefined;
    })
    .filter((x): x is string => x !== undefined);
  if (drops.length > 0) {
    out.push(
      `Putting the same ${members} members on ${formatNumber(settings.steady?.sharedSessions)} sessions cut server CPU by ` +
        `${drops.join(", ")}: the cost follows sessions more than members.`,
    );
  }
  return out;
}

function scaleReading(results: BenchResults): string[] {
  const rows = resultsOf(results, "scale");
  const snap = points(rows, "snapshotMs");
  const list = points(rows, "membersMs");
  if (snap.length === 0) return [];
  const members = Number(rows.find((r) => r.values.members !== undefined)?.values.members ?? 0);
  const bytes = points(rows, "viewBytes").map((p) => ({ ...p, value: p.value / members }));
  const isUp = points(rows, "isUpPerSecond");
  return [
    `**Scale.** A new watcher's snapshot of ${formatNumber(members)} members took ${range(snap, formatMs)}; ` +
      `\`members()\` ${range(list, formatMs)}; a view holds about ${range(bytes, (v) => `${formatNumber(v)} B`)} of heap per member, and ` +
      `answers \`isUp()\` ${range(isUp, (v) => `${formatNumber(v / 1e6)} M`)} times a second — no I/O.`,
  ];
}

function partitionReading(results: BenchResults): string[] {
  const members = resultsOf(results, "partition", "member").filter((r) => r.kind === "rollcall");
  const leaders = resultsOf(results, "partition", "leader").filter((r) => r.kind === "rollcall");
  const leave = points(members, "leaveRatio");
  const out: string[] = [];
  if (leave.length > 0) {
    const suspended = points(members, "suspendedRatio");
    const expired = points(members, "expiredRatio");
    const late = members.filter((r) => Number(r.values.expiredAfterHeal ?? 0) > 0).map((r) => r.backend);
    out.push(
      `**Partition.** With a member's host cut off the network, a watcher outside saw it leave after ${range(leave, formatRatio)} the ` +
        `session timeout (median); the member itself reported \`suspended\` after ${range(suspended, formatRatio)}` +
        (expired.length > 0 ? ` and \`expired\` after ${range(expired, formatRatio)}` : "") +
        (late.length > 0
          ? ` (${late.join(", ")}: \`expired\` only once the heal let it reach the server)`
          : "") +
        `. After the heal it was back in the group after ${range(points(members, "rejoinMs"), formatMs)}.`,
    );
  }
  const gap = points(leaders, "gapMs");
  if (gap.length > 0) {
    const minGap = leaders
      .map((r) => ({ result: r, value: stat(r, "gapMs")?.min }))
      .filter((p): p is Point => p.value !== undefined);
    out.push(
      `A cut-off leader's signal aborted after ${range(points(leaders, "abortedRatio"), formatRatio)} the timeout and a candidate ` +
        `outside was elected after ${range(points(leaders, "electedRatio"), formatRatio)}: the old leader stopped first by ` +
        `${range(gap, formatMs)} at the median (the smallest gap: ${range(minGap, formatMs)}).`,
    );
  }
  return out;
}

/** A number value of a result that ran, or undefined. */
function value(r: ScenarioResult, name: string): number | undefined {
  const v = r.values[name];
  return r.status === "ok" && typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function configReading(results: BenchResults): string[] {
  const rows = resultsOf(results, "config");
  const rollcall = rows.filter((r) => r.kind === "rollcall");
  const notify = points(rollcall, "notifyMs");
  const notifyP99 = points(rollcall, "notifyMs", "p99");
  const cas = rollcall
    .map((result) => ({ result, value: value(result, "cas.successesPerSecond") }))
    .filter((p): p is Point => p.value !== undefined);
  const snapshot = points(rollcall, "snapshotMs");
  const entries = points(rollcall, "entriesMs");
  if (notify.length === 0 && cas.length === 0 && snapshot.length === 0) return [];
  const keys = rows.map((r) => value(r, "snapshot.keys")).find((n) => n !== undefined);
  const wrong = rollcall.filter((r) => r.status === "ok" && r.values["cas.correct"] === false);
  const checked = rollcall.filter((r) => typeof r.values["cas.correct"] === "boolean");
  const parts: string[] = [];
  if (notify.length > 0)
    parts.push(
      `a set reached a watcher in another process in ${range(notify, formatMs)} at the median (p99 at most ${formatMs(maxOf(notifyP99))}), write included`,
    );
  if (cas.length > 0)
    parts.push(
      `${rows.map((r) => value(r, "cas.writers")).find((n) => n !== undefined) ?? "the"} writers racing on one key won ` +
        `${range(cas, (v) => `${formatNumber(v)}/s`)} compare-and-sets` +
        (checked.length > 0
          ? wrong.length === 0
            ? `, and the counter was right on ${checked.length === 1 ? "the one backend" : `all ${checked.length} backends`}`
            : ` — **the counter was wrong on ${wrong.map((r) => r.backend).join(", ")}**`
          : ""),
    );
  if (snapshot.length > 0)
    parts.push(
      `a new watcher's snapshot of ${formatNumber(keys)} entries took ${range(snapshot, formatMs)}` +
        (entries.length > 0 ? ` and \`entries()\` ${range(entries, formatMs)}` : ""),
    );
  const sentence = parts.join("; ");
  const out = [`**Configuration.** ${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`];
  const peer = rows.find((r) => r.kind === "etcd3" && r.status === "ok");
  const mine = rollcall.find((r) => r.backend === peer?.backend && r.status === "ok");
  if (peer && mine) {
    const compare = (metric: string, what: string, higherIsBetter = false): string | undefined => {
      const a = metric.startsWith("cas.") ? value(mine, metric) : stat(mine, metric)?.median;
      const b = metric.startsWith("cas.") ? value(peer, metric) : stat(peer, metric)?.median;
      if (a === undefined || b === undefined) return undefined;
      const f = metric.startsWith("cas.") ? (v: number) => `${formatNumber(v)}/s` : formatMs;
      const better = higherIsBetter ? a >= b : a <= b;
      return `${what} ${f(a)} vs ${f(b)}${better ? "" : ` (rollcall ${formatRatio(higherIsBetter ? b / a : a / b)} slower)`}`;
    };
    const pairs = [
      compare("notifyMs", "set → watcher"),
      compare("cas.successesPerSecond", "compare-and-sets", true),
      compare("snapshotMs", "new watcher's snapshot"),
    ].filter((x): x is string => x !== undefined);
    if (pairs.length > 0)
      out.push(
        `On the same etcd, rollcall against the etcd3 npm client's own get / put / watch: ${pairs.join("; ")}. ` +
          "rollcall's entries carry the value's JSON with its write time and a write id, and its watch resynchronises after compaction.",
      );
  }
  return out;
}

/** The reactor's correctness failures on a result: departures never run, run twice, or left pending. */
function reactorFaults(r: ScenarioResult): string[] {
  const faults: string[] = [];
  for (const [prefix, what, allowed] of [
    ["kill.default", "after a kill (default options)", 1],
    ["kill.direct", "after a kill (brake off, grace 0)", 1],
    ["failover", "across a failover", 2],
  ] as const) {
    const missing = value(r, `${prefix}.missing`) ?? 0;
    const maxRuns = value(r, `${prefix}.maxRuns`) ?? 0;
    const left = value(r, `${prefix}.pendingLeft`) ?? 0;
    if (missing > 0) faults.push(`${missing} departures ${what} never handled`);
    if (maxRuns > allowed) faults.push(`a departure ${what} run ${maxRuns} times`);
    if (left > 0) faults.push(`${left} departures ${what} left pending`);
    if (r.values[`${prefix}.braked`] === true) faults.push(`the brake engaged ${what}`);
  }
  return faults;
}

function reactorReading(results: BenchResults): string[] {
  const rollcall = resultsOf(results, "reactor").filter((r) => r.kind === "rollcall");
  const held = points(rollcall, "killDefaultRatio");
  const direct = points(rollcall, "killDirectRatio");
  const failover = points(rollcall, "takeoverRatio");
  if (held.length === 0 && direct.length === 0 && failover.length === 0) return [];
  const parts: string[] = [];
  if (held.length > 0 || direct.length > 0)
    parts.push(
      "after a member's SIGKILL the acting reactor's handler started " +
        [
          held.length > 0
            ? `${range(held, formatRatio)} the session timeout with the default options (detection, then a hold of one timeout so a mass failure is seen whole)`
            : undefined,
          direct.length > 0 ? `${range(direct, formatRatio)} with \`brake: false, grace: 0\`` : undefined,
        ]
          .filter((x): x is string => x !== undefined)
          .join(", and ") +
        " at the median",
    );
  if (failover.length > 0)
    parts.push(
      `with a departure pending, a SIGKILL of the acting reactor was followed by the standby taking over after ${range(failover, formatRatio)} the timeout (its handler then waits out the rest of the departure's grace)`,
    );
  const checked = rollcall.filter((r) => r.status === "ok");
  const faulty = checked.filter((r) => reactorFaults(r).length > 0);
  const sentence = parts.join("; ");
  return [
    `**Reactor.** ${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}` +
      (checked.length === 0
        ? "."
        : faulty.length === 0
          ? `; every departure was handled once and nothing was left pending, on ${checked.length === 1 ? "the one backend" : `all ${checked.length} backends`}.`
          : ` — **not every departure was handled exactly once on ${faulty.map((r) => r.backend).join(", ")}**.`),
  ];
}

function lossesReading(results: BenchResults, settings: BenchSettings): string[] {
  const out: string[] = [];
  const compare = (
    scenario: "notify" | "detect" | "failover" | "churn",
    metric: string,
    higherIsBetter: boolean,
    what: string,
  ) => {
    for (const t of resultsOf(results, scenario).filter((r) => r.kind === "tooz")) {
      const r = findResult(results, `rollcall/${t.backend}`, scenario);
      const a = stat(r, metric)?.median;
      const b = stat(t, metric)?.median;
      if (a === undefined || b === undefined) continue;
      if (higherIsBetter ? b > a * 1.1 : b < a * 0.9) {
        const f = metric.endsWith("PerSecond")
          ? (v: number) => `${formatNumber(v)}/s`
          : metric.endsWith("Ratio")
            ? formatRatio
            : formatMs;
        out.push(`${what} on ${t.backend}: tooz ${f(b)} vs rollcall ${f(a)}.`);
      }
    }
  };
  compare("notify", "leaveMs", false, "Graceful leave → event");
  compare(
    "detect",
    "detectRatio",
    false,
    "Crash detection (a TTL refreshed more often than every third of the timeout expires sooner after a crash)",
  );
  compare("failover", "resignMs", false, "Resign failover");
  compare("failover", "killRatio", false, "Failover after a crash");
  compare("churn", "opsPerSecond", true, "Churn throughput");
  for (const s of novaServers(results, settings)) out.push(...novaLosses(settings, s));
  for (const r of resultsOf(results, "churn").filter((x) => x.kind === "rollcall" && x.status === "ok")) {
    const errors = Number(r.values.errors ?? 0);
    if (errors === 0 && r.values.converged !== false) continue;
    const why = r.notes[0]?.replace(/^churn error \(\d+ in round \d+\): /, "");
    out.push(
      `Churn on ${r.backend}: ${formatNumber(errors)} failed operations${why ? ` ("${why}")` : ""}` +
        (r.values.converged === false
          ? `, and the watcher's view still differed from \`members()\` ${formatMs(Number(r.values.settleMs))} after the churn stopped`
          : "") +
        ".",
    );
  }
  const scaleRows = resultsOf(results, "scale").filter((x) => x.kind === "rollcall");
  for (const metric of ["snapshotMs", "membersMs"] as const) {
    const [worst, next] = points(scaleRows, metric).sort((a, b) => b.value - a.value);
    if (worst && next && worst.value > 5 * next.value) {
      out.push(
        `${metric === "snapshotMs" ? "A new watcher's snapshot" : "`members()`"} of the large group on ${worst.result.backend}: ` +
          `${formatMs(worst.value)}, ${formatRatio(worst.value / next.value)} the next slowest backend (${next.result.backend}).`,
      );
    }
  }
  for (const r of resultsOf(results, "notify").filter(
    (x) => x.kind === "rollcall" && POLLING.has(x.backend),
  )) {
    const s = stat(r, "joinMs");
    if (s)
      out.push(
        `${r.backend} has no push: its watchers poll, ${formatMs(s.median)} per change at the median.`,
      );
  }
  for (const r of resultsOf(results, "partition", "leader").filter((x) => x.kind === "rollcall")) {
    const overlaps = Number(r.values.overlap ?? 0);
    if (overlaps > 0)
      out.push(
        `Partition on ${r.backend}: in ${overlaps} of ${formatNumber(Number(r.values.cuts))} cuts the candidate was elected before the old leader's signal aborted.`,
      );
  }
  for (const r of resultsOf(results, "config").filter((x) => x.kind === "rollcall" && x.status === "ok")) {
    if (r.values["cas.correct"] === false)
      out.push(
        `Configuration on ${r.backend}: the compare-and-set counter ended at ${String(r.values["cas.final"])} after ` +
          `${formatNumber(Number(r.values["cas.successes"]))} successful compare-and-sets.`,
      );
    const missing = Number(r.values["notify.missing"] ?? 0);
    if (missing > 0)
      out.push(`Configuration on ${r.backend}: the watcher never reported ${missing} of the sets.`);
    const parts = ["notify", "cas", "snapshot"].filter((p) => typeof r.values[`${p}.error`] === "string");
    if (parts.length > 0)
      out.push(`Configuration on ${r.backend}: ${parts.join(", ")} failed (see the table).`);
  }
  for (const r of resultsOf(results, "reactor").filter((x) => x.kind === "rollcall" && x.status === "ok")) {
    const faults = reactorFaults(r);
    if (faults.length > 0) out.push(`Reactor on ${r.backend}: ${faults.join("; ")}.`);
    const parts = ["kill", "failover"].filter((p) => typeof r.values[`${p}.error`] === "string");
    if (parts.length > 0) out.push(`Reactor on ${r.backend}: ${parts.join(", ")} failed (see the table).`);
  }
  const failed = results.results.filter((r) => r.kind === "rollcall" && r.status === "failed");
  if (failed.length > 0) {
    out.push(
      `Failed in this run: ${failed.map((r) => `${r.backend} ${r.scenario}${r.variant ? ` (${r.variant})` : ""}`).join(", ")} (see below).`,
    );
  }
  if (out.length === 0) return [];
  return ["**Where rollcall loses or lacks.**", ...out.map((line) => `  - ${line}`)];
}

/** The page's short reading of the results: generated from the numbers, so it stays true on a re-run. */
export function reading(results: BenchResults): string {
  const settings = results.settings as unknown as BenchSettings;
  const bullets = [
    ...notifyReading(results, settings.tooz?.intervalMs ?? 1000),
    ...detectReading(results, settings.sessionTimeoutMs),
    ...failoverReading(results),
    ...churnReading(results),
    ...steadyReading(results, settings),
    ...scaleReading(results),
    ...partitionReading(results),
    ...configReading(results),
    ...reactorReading(results),
  ];
  const losses = lossesReading(results, settings);
  const lines = bullets.map((b) => `- ${b}`);
  if (losses.length > 0) lines.push(`- ${losses[0]}`, ...losses.slice(1));
  if (lines.length === 0) return "No scenario produced numbers in this run.";
  return lines.join("\n");
}
