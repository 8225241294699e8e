import type { BenchResults, ScenarioResult } from "../results.js";
import type { BenchSettings } from "../settings.js";
import { formatBytes, formatMs, formatNumber, formatRatio } from "./format.js";
import { label, resultsOf, stat, statusText } from "./lookup.js";
import { novaServerNames, reading } from "./reading.js";
import type { Summary } from "./stats.js";
import { type Bar, type BarChartOptions, barChart, COLORS } from "./svg-chart.js";

/** Where the page links to. */
export interface PageLinks {
  /** Directory of the charts, relative to the page. */
  chartHref: string;
  /** The results file, relative to the page. */
  resultsHref: string;
}

type Row = (string | number)[];

function table(head: string[], rows: Row[]): string {
  const line = (cells: (string | number)[]) =>
    `| ${cells.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function color(result: ScenarioResult): string {
  return COLORS[result.kind];
}

/** A bar for the median of a metric, with the interquartile range as whisker. */
function bar(
  result: ScenarioResult,
  summary: Summary | undefined,
  text?: (s: Summary) => string,
  withVariant = true,
): Bar {
  if (!summary) {
    return {
      label: label(result, withVariant),
      value: undefined,
      note:
        result.status === "unsupported"
          ? "not supported"
          : result.status === "failed"
            ? "failed"
            : result.status === "skipped"
              ? "skipped"
              : "no samples",
    };
  }
  const b: Bar = {
    label: label(result, withVariant),
    value: summary.median,
    low: summary.p25,
    high: summary.p75,
    color: color(result),
  };
  if (text) b.text = text(summary);
  return b;
}

function cell(
  summary: Summary | undefined,
  format: (v: number) => string,
  pick: (s: Summary) => number,
): string {
  return summary ? format(pick(summary)) : "–";
}

function spread(summary: Summary | undefined, format: (v: number) => string): string {
  return summary ? `${format(summary.p25)} – ${format(summary.p75)}` : "–";
}

/** A section of the page: its markdown and its charts (file name → SVG). */
export interface Section {
  markdown: string;
  charts: Record<string, string>;
}

/** Options of a chart of multiples of the timeout, with a reference line at 1×. */
function ratioChart(title: string, axisLabel = "multiple of the session timeout"): BarChartOptions {
  return {
    title,
    axisLabel,
    reference: { value: 1, label: "1× timeout" },
    format: (v) => `${Number(v.toPrecision(3))}×`,
  };
}

function chartRef(links: PageLinks, name: string, alt: string): string {
  return `![${alt}](${links.chartHref}/${name})`;
}

function notifySection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "notify");
  if (rows.length === 0) return undefined;
  const body = rows.map((r) => {
    const status = statusText(r);
    if (status)
      return [label(r), r.settings.watch ? String(r.settings.watch) : "", status, "", "", "", "", "", ""];
    const join = stat(r, "joinMs");
    const update = stat(r, "updateMs");
    const leave = stat(r, "leaveMs");
    return [
      label(r),
      String(r.settings.watch ?? ""),
      cell(join, formatMs, (s) => s.median),
      cell(join, formatMs, (s) => s.p99),
      update ? formatMs(update.median) : "no update events",
      cell(update, formatMs, (s) => s.p99),
      cell(leave, formatMs, (s) => s.median),
      cell(leave, formatMs, (s) => s.p99),
      join?.n ?? 0,
    ];
  });
  const svg = barChart(
    rows.map((r) => bar(r, stat(r, "joinMs"), (s) => formatMs(s.median))),
    {
      title: "notify: join → event at a watcher in another process (median, IQR whiskers)",
      axisLabel: "milliseconds, log scale",
      log: true,
      format: (v) => formatMs(v),
    },
  );
  return {
    markdown: [
      "## notify: how fast a watcher in another process hears of a change",
      "",
      "A member process joins, updates its metadata and leaves, with random pauses in between (up to " +
        `${(results.settings as unknown as BenchSettings).notify?.maxGapMs ?? "?"} ms, or up to the poll interval for watchers that poll, so ` +
        "changes fall at every phase of the poll); a watcher process reports each event. " +
        "Latency is the watcher's receipt minus the moment the member *called* the operation, so it includes the write.",
      "",
      chartRef(links, "notify.svg", "notify latency chart"),
      "",
      table(
        [
          "subject",
          "how the watcher learns",
          "join median",
          "join p99",
          "update median",
          "update p99",
          "leave median",
          "leave p99",
          "n",
        ],
        body,
      ),
    ].join("\n"),
    charts: { "notify.svg": svg },
  };
}

function detectSection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "detect");
  if (rows.length === 0) return undefined;
  const body = rows.map((r) => {
    const timeout = Number(r.values.sessionTimeoutMs ?? r.settings.sessionTimeoutMs);
    const status = statusText(r);
    if (status) return [label(r), formatMs(timeout), status, "", "", "", "", ""];
    const ms = stat(r, "detectMs");
    const ratio = stat(r, "detectRatio");
    const reasons = Object.keys(r.values)
      .filter((k) => k.startsWith("reason:"))
      .map((k) => k.slice(7))
      .join(", ");
    if (!ms && r.kind === "nova") {
      return [
        label(r),
        formatMs(timeout),
        `bound ${formatMs(Number(r.values.boundLowMs))} – ${formatMs(Number(r.values.boundHighMs))}`,
        `${formatRatio(Number(r.values.boundLowMs) / timeout)} – ${formatRatio(Number(r.values.boundHighMs) / timeout)}`,
        "",
        "",
        0,
        "computed, not measured",
      ];
    }
    return [
      label(r),
      formatMs(timeout),
      cell(ms, formatMs, (s) => s.median),
      cell(ratio, formatRatio, (s) => s.median),
      cell(ratio, formatRatio, (s) => s.p99),
      ratio ? `${formatRatio(ratio.min)} – ${formatRatio(ratio.max)}` : "–",
      ms?.n ?? 0,
      r.kind === "nova" ? `consumer polls every ${formatMs(Number(r.settings.pollMs))}` : reasons,
    ];
  });
  const bars = rows.map((r) => {
    const b = bar(r, stat(r, "detectRatio"), (s) => formatRatio(s.median));
    if (b.value === undefined && r.kind === "nova" && r.values.boundHighMs !== undefined) {
      const t = Number(r.values.sessionTimeoutMs);
      b.note = `not measured: bound ${formatRatio(Number(r.values.boundLowMs) / t)}–${formatRatio(Number(r.values.boundHighMs) / t)}`;
    }
    return b;
  });
  const svg = barChart(
    bars,
    ratioChart(
      "detect: SIGKILL → leave at a watcher, ÷ the configured detection bound (median, IQR)",
      "multiple of sessionTimeout (tooz: timeout; Nova: service_down_time)",
    ),
  );
  const absolute = barChart(
    rows.map((r) => {
      const b = bar(r, stat(r, "detectMs"), (s) => formatMs(s.median));
      if (b.value === undefined && r.kind === "nova" && r.values.boundHighMs !== undefined) {
        b.value = (Number(r.values.boundLowMs) + Number(r.values.boundHighMs)) / 2;
        b.low = Number(r.values.boundLowMs);
        b.high = Number(r.values.boundHighMs);
        b.color = COLORS.nova;
        b.text = `${formatMs(b.low)}–${formatMs(b.high)} (bound)`;
      }
      return b;
    }),
    {
      title: "detect: SIGKILL → leave at a watcher, absolute (median, IQR; Nova defaults: computed bound)",
      axisLabel: "milliseconds, log scale",
      log: true,
      format: (v) => formatMs(v),
    },
  );
  return {
    markdown: [
      "## detect: how long until a crashed member is gone",
      "",
      "Member processes are SIGKILLed at random moments (so at every phase of their keep-alive); a watcher process reports the leave. " +
        "The ratio divides by the detection bound each subject is configured with: rollcall's `sessionTimeout`, tooz's `timeout` / " +
        "`membership_timeout`, Nova's `service_down_time`. A crashed member cannot be declared gone before its session could have expired, " +
        "so values just under or over 1× are the expected outcome; for the TTL backends the lower limit is 1× minus one keep-alive interval.",
      "",
      chartRef(links, "detect-ratio.svg", "detection as a multiple of the timeout"),
      "",
      chartRef(links, "detect-absolute.svg", "detection time"),
      "",
      table(
        [
          "subject",
          "bound",
          "median",
          "median ÷ bound",
          "p99 ÷ bound",
          "min – max ÷ bound",
          "n",
          "leave reason / note",
        ],
        body,
      ),
    ].join("\n"),
    charts: { "detect-ratio.svg": svg, "detect-absolute.svg": absolute },
  };
}

function failoverSection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "failover");
  if (rows.length === 0) return undefined;
  const body = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", "", "", "", ""];
    const resign = stat(r, "resignMs");
    const kill = stat(r, "killMs");
    const ratio = stat(r, "killRatio");
    return [
      label(r),
      cell(resign, formatMs, (s) => s.median),
      cell(resign, formatMs, (s) => s.p99),
      cell(kill, formatMs, (s) => s.median),
      cell(ratio, formatRatio, (s) => s.median),
      cell(ratio, formatRatio, (s) => s.max),
      `${resign?.n ?? 0} / ${kill?.n ?? 0}`,
    ];
  });
  const resignChart = barChart(
    rows.map((r) => bar(r, stat(r, "resignMs"), (s) => formatMs(s.median))),
    {
      title: "failover: graceful resign → another candidate leads (median, IQR)",
      axisLabel: "milliseconds, log scale",
      log: true,
      format: (v) => formatMs(v),
    },
  );
  const killChart = barChart(
    rows.map((r) => bar(r, stat(r, "killRatio"), (s) => formatRatio(s.median))),
    ratioChart("failover: SIGKILL of the leader → another candidate leads, ÷ timeout (median, IQR)"),
  );
  return {
    markdown: [
      "## failover: how long an election is without a leader",
      "",
      "Candidates in separate processes campaign in one election. *Resign*: the leader gives up its seat (rollcall `resign()`; tooz " +
        "`stand_down_group_leader()` where the driver has it, else `stop()`); *kill*: the leader's process is SIGKILLed. " +
        "Both are timed to the moment another candidate is told it leads.",
      "",
      chartRef(links, "failover-resign.svg", "resign failover chart"),
      "",
      chartRef(links, "failover-kill.svg", "kill failover chart"),
      "",
      table(
        [
          "subject",
          "resign median",
          "resign p99",
          "kill median",
          "kill ÷ timeout",
          "kill max ÷ timeout",
          "n (resign / kill)",
        ],
        body,
      ),
    ].join("\n"),
    charts: { "failover-resign.svg": resignChart, "failover-kill.svg": killChart },
  };
}

function churnSection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "churn");
  if (rows.length === 0) return undefined;
  const body = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", "", "", "", ""];
    const ops = stat(r, "opsPerSecond");
    const changes = Number(r.values.changes ?? 0);
    const seen = r.values.viewChanges;
    return [
      label(r),
      cell(
        ops,
        (v) => formatNumber(v),
        (s) => s.median,
      ),
      ops ? `${formatNumber(ops.min)} – ${formatNumber(ops.max)}` : "–",
      String(r.values.errors ?? 0),
      r.values.converged ? "yes" : "**no**",
      formatMs(Number(r.values.settleMs)),
      typeof seen === "number"
        ? `${formatNumber(seen)} / ${formatNumber(changes)}`
        : `– / ${formatNumber(changes)}`,
    ];
  });
  const svg = barChart(
    rows.map((r) => bar(r, stat(r, "opsPerSecond"), (s) => `${formatNumber(s.median)}/s`)),
    {
      title: "churn: joins + leaves per second, 50 coordinators in one process (median, IQR over rounds)",
      axisLabel: "operations per second, log scale",
      log: true,
    },
  );
  return {
    markdown: [
      "## churn: membership changes per second, and a view that stays right",
      "",
      "Fifty coordinators in one process join and leave one group as fast as each can (each waits for its own call); a watcher in " +
        "another process keeps a view. At the end the view must equal `members()`; *settled after* is how long after the last change " +
        "that took. *Changes seen* counts the view's join/leave events: push backends may fold a join and the leave right after it " +
        "into nothing, which is allowed (the view is a state, not a log) — tooz's re-list-and-diff folds most of them.",
      "",
      chartRef(links, "churn.svg", "churn chart"),
      "",
      table(
        [
          "subject",
          "joins+leaves/s median",
          "min – max (rounds)",
          "errors",
          "view = members()",
          "settled after",
          "changes seen / made",
        ],
        body,
      ),
    ].join("\n"),
    charts: { "churn.svg": svg },
  };
}

function steadySection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "steady");
  if (rows.length === 0) return undefined;
  const s = (results.settings as unknown as BenchSettings).steady;
  const members = formatNumber(s?.members);
  const shared = formatNumber(s?.sharedSessions);
  const groups = s ? Math.ceil(s.members / s.sharedSessions) : "?";
  const body = rows.map((r) => {
    const status = statusText(r);
    const n = formatNumber(Number(r.settings.members ?? 0));
    const shape =
      r.kind === "nova"
        ? `${n} services, pooled`
        : r.variant === "shared"
          ? `${n} members: ${r.settings.sessions} sessions × ${r.settings.groups} groups`
          : `${n} members, 1 session each`;
    if (status)
      return [
        label(r, r.kind === "nova"),
        shape,
        formatMs(Number(r.settings.sessionTimeoutMs)),
        status,
        "",
        "",
        "",
        "",
      ];
    const cpu = stat(r, "serverCpuPerMinute");
    const req = stat(r, "requestsPerSecond");
    const client = stat(r, "clientCpuPerMinute");
    return [
      label(r, r.kind === "nova"),
      shape,
      formatMs(Number(r.settings.sessionTimeoutMs)),
      cpu ? `${formatNumber(cpu.median)} (${spread(cpu, (v) => formatNumber(v))})` : "no server",
      req ? `${formatNumber(req.median)} (${spread(req, (v) => formatNumber(v))})` : "–",
      cell(
        client,
        (v) => formatNumber(v),
        (s) => s.median,
      ),
      r.values.serverMemoryBytes !== undefined ? formatBytes(Number(r.values.serverMemoryBytes)) : "–",
      r.values.serverProcesses !== undefined ? String(r.values.serverProcesses) : "–",
    ];
  });
  const chosen = rows.filter((r) => r.variant !== "shared");
  const cpuChart = barChart(
    chosen.map((r) => {
      const b = bar(
        r,
        stat(r, "serverCpuPerMinute"),
        (s) => `${formatNumber(s.median)} s/min`,
        r.kind === "nova",
      );
      if (b.value === undefined && r.status === "ok") b.note = "no server process";
      return b;
    }),
    {
      title: `steady cost: server CPU seconds per minute, ${members} idle members (median, IQR over slices)`,
      axisLabel: "CPU seconds per minute (60 = one core busy)",
    },
  );
  const reqChart = barChart(
    chosen.map((r) => {
      const b = bar(r, stat(r, "requestsPerSecond"), (s) => `${formatNumber(s.median)}/s`, r.kind === "nova");
      if (b.value === undefined && r.status === "ok") b.note = "no request counter";
      return b;
    }),
    {
      title: `steady cost: requests per second the server counted, ${members} idle members`,
      axisLabel: "per second, log scale (each server counts its own unit: see the table)",
      log: true,
    },
  );
  const counters = [
    ...new Set(rows.map((r) => r.values.counter).filter((c): c is string => typeof c === "string")),
  ];
  return {
    markdown: [
      `## steady cost: what ${members} idle members cost the server`,
      "",
      `${members} members sit idle for ${formatMs(s?.windowMs)} while one consumer holds a view of their group(s); after a warm-up the server's CPU (all its processes ` +
        "and their children, from `/proc/<pid>/stat`) and its own request counter are read in slices. Every subject uses the same " +
        "detection bound (rollcall `sessionTimeout`, Nova `service_down_time`) except *Nova defaults*. " +
        `*1 session each*: ${members} coordinators spread over ${s?.processes ?? "several"} client processes. *${shared} sessions × ${groups} groups*: ` +
        `a coordinator is one member id, so ${members} members on ${shared} sessions means each session is a member of ${groups} groups (the consumer views all of them). ` +
        "The Nova services save their rows through pools of 5 connections per client process. " +
        "Server memory is the proportional set size of all the server's processes (shared memory counted once).",
      "",
      chartRef(links, "steady-cpu.svg", "server CPU chart"),
      "",
      chartRef(links, "steady-requests.svg", "server requests chart"),
      "",
      table(
        [
          "subject",
          "shape",
          "detection bound",
          "server CPU s/min median (IQR)",
          "server requests/s median (IQR)",
          "client CPU s/min",
          "server memory (PSS)",
          "server processes",
        ],
        body,
      ),
      "",
      "What each server counts as a request:",
      "",
      ...counters.map((c) => `- ${c}`),
    ].join("\n"),
    charts: { "steady-cpu.svg": cpuChart, "steady-requests.svg": reqChart },
  };
}

function scaleSection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "scale");
  if (rows.length === 0) return undefined;
  const members = Number(rows.find((r) => r.values.members !== undefined)?.values.members ?? 0);
  const body = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", "", "", "", ""];
    const snap = stat(r, "snapshotMs");
    const bytes = stat(r, "viewBytes");
    const list = stat(r, "membersMs");
    const isUp = stat(r, "isUpPerSecond");
    return [
      label(r),
      formatMs(Number(r.values.loadMs)),
      cell(snap, formatMs, (s) => s.median),
      bytes ? `${formatBytes(bytes.median)} (${formatBytes(bytes.median / members)}/member)` : "–",
      cell(list, formatMs, (s) => s.median),
      cell(list, formatMs, (s) => s.p99),
      isUp ? `${formatNumber(isUp.median / 1e6)} M/s` : "–",
    ];
  });
  const svg = barChart(
    rows.map((r) => bar(r, stat(r, "snapshotMs"), (s) => formatMs(s.median))),
    {
      title: `scale: a new watcher's snapshot of ${formatNumber(members)} members, view() (median, IQR)`,
      axisLabel: "milliseconds, log scale",
      log: true,
      format: (v) => formatMs(v),
    },
  );
  return {
    markdown: [
      `## scale: one group of ${formatNumber(members)} members`,
      "",
      `${formatNumber(members)} members are written into one group through the backend's driver (many members per session: ` +
        `${formatNumber(members)} client sessions do not fit on this machine, and readers see the same records either way). Then new ` +
        "coordinators take a view: the time for `view()` to hold the snapshot, the JS heap the first view of a process holds (after GC), the latency of " +
        "`members()`, and `view.isUp()` calls per second on one core (half the ids asked are members; `isUp()` is the same " +
        "core code on every backend, so its differences are this machine's noise, not the backends').",
      "",
      chartRef(links, "scale-snapshot.svg", "snapshot time chart"),
      "",
      table(
        [
          "subject",
          "load (driver)",
          "new watcher's snapshot",
          "heap of one view",
          "members() median",
          "members() p99",
          "view.isUp()",
        ],
        body,
      ),
    ].join("\n"),
    charts: { "scale-snapshot.svg": svg },
  };
}

/**
 * Two cells, median and max, of a metric pair `<name>Ms` / `<name>Ratio`: each a duration and its multiple of
 * the session timeout, `1.23 s (0.62×)`.
 */
function medianAndMax(r: ScenarioResult, name: string): [string, string] {
  const ms = stat(r, `${name}Ms`);
  const ratio = stat(r, `${name}Ratio`);
  if (!ms || !ratio) return ["–", "–"];
  return [
    `${formatMs(ms.median)} (${formatRatio(ratio.median)})`,
    `${formatMs(ms.max)} (${formatRatio(ratio.max)})`,
  ];
}

/** How many cuts a result tallied under a counter (see partition-samples.ts). */
function tally(r: ScenarioResult, counter: string): number {
  return Number(r.values[counter] ?? 0);
}

/** The note of a result's tallies: `text: n` for each counter (→ text) it counted, joined. */
function tallyNote(r: ScenarioResult, texts: Record<string, string>): string {
  return Object.entries(texts)
    .filter(([counter]) => tally(r, counter) > 0)
    .map(([counter, text]) => `${text}: ${tally(r, counter)}`)
    .join("; ");
}

/** Two cells of a duration metric: its median and its `max` or `min`. */
function medianAnd(r: ScenarioResult, metric: string, other: "max" | "min"): [string, string] {
  const summary = stat(r, metric);
  return [cell(summary, formatMs, (s) => s.median), cell(summary, formatMs, (s) => s[other])];
}

/** What the partition tables say of the member cuts' and the leader cuts' tallies. */
const MEMBER_TALLIES: Record<string, string> = {
  expiredAfterHeal: "expired reported only after the heal",
  noExpired: "no expired",
  noSuspended: "no suspended",
  noLeave: "**no leave seen**",
  noRejoin: "**not back after the heal**",
};
const LEADER_TALLIES: Record<string, string> = {
  overlap: "**two leaders at once (gap ≤ 0)**",
  noAbort: "**old leader's signal never aborted**",
  noElection: "no new leader during the cut",
};

/** The partition scenario's two tables: the cut-off member, the cut-off leader. */
export function partitionSection(results: BenchResults, links: PageLinks): Section | undefined {
  const members = resultsOf(results, "partition", "member");
  const leaders = resultsOf(results, "partition", "leader");
  if (members.length === 0 && leaders.length === 0) return undefined;
  /** A row: subject, timeout, the variant's cells, cuts, the note of its tallies (or why it has no numbers). */
  const row = (r: ScenarioResult, cells: Row, notes: Record<string, string>): Row => {
    const head = [
      label(r, false),
      formatMs(Number(r.values.sessionTimeoutMs ?? r.settings.sessionTimeoutMs)),
    ];
    const status = statusText(r);
    return status ? [...head, status] : [...head, ...cells, tally(r, "cuts"), tallyNote(r, notes)];
  };
  const memberRows = members.map((r) =>
    row(
      r,
      [
        ...medianAndMax(r, "leave"),
        ...medianAndMax(r, "suspended"),
        ...medianAndMax(r, "expired"),
        ...medianAnd(r, "rejoinMs", "max"),
      ],
      MEMBER_TALLIES,
    ),
  );
  const leaderRows = leaders.map((r) =>
    row(
      r,
      [...medianAndMax(r, "aborted"), ...medianAndMax(r, "elected"), ...medianAnd(r, "gapMs", "min")],
      LEADER_TALLIES,
    ),
  );
  const svg = barChart(
    members.map((r) => bar(r, stat(r, "leaveRatio"), (s) => formatRatio(s.median), false)),
    ratioChart("partition: member's host cut off → leave at a watcher, ÷ the session timeout (median, IQR)"),
  );
  return {
    markdown: [
      "## partition: a member or a leader cut off the network",
      "",
      "The server listens on the bridge of a network lab (Linux network namespaces); one participant runs in a lab host whose link " +
        "is then cut at a random moment (`ip link set … down`: packets are dropped both ways, nothing is closed, the process keeps running), " +
        "and healed once everything measured was seen (or after " +
        `${(results.settings as unknown as BenchSettings).partition?.holdRatio ?? "?"}× the timeout). ` +
        "*Member*: a watcher outside the cut sees the member leave; the member itself reports its session `suspended`, then `expired`; " +
        "after the heal its re-opened session re-joins and the watcher sees it again (*heal → back*). " +
        "*Leader*: the old leader reports its leadership's signal aborted; a candidate outside the cut is elected; the gap " +
        "(elected − aborted) must be positive — the old leader stops first. All times are from the cut, on the one host clock; " +
        "in parentheses ÷ the session timeout. Not applicable: memory:// (in-process) and SQLite (a local file) have no network to cut; " +
        "tooz and the Nova heartbeat are not run.",
      "",
      chartRef(links, "partition-leave.svg", "partition: leave at a watcher chart"),
      "",
      table(
        [
          "member cut off",
          "timeout",
          "leave at watcher, median",
          "max",
          "member: suspended, median",
          "max",
          "member: expired, median",
          "max",
          "heal → back, median",
          "max",
          "cuts",
          "note",
        ],
        memberRows,
      ),
      "",
      table(
        [
          "leader cut off",
          "timeout",
          "old leader's signal aborted, median",
          "max",
          "candidate elected, median",
          "max",
          "gap, median",
          "gap, min",
          "cuts",
          "note",
        ],
        leaderRows,
      ),
    ].join("\n"),
    charts: { "partition-leave.svg": svg },
  };
}

/** `a → b (+d, +p %)` cells of a metric measured without and with something: medians and their difference. */
function beforeAfter(r: ScenarioResult, metric: string): [string, string, string] {
  const without = stat(r, `without.${metric}`);
  const withIt = stat(r, `with.${metric}`);
  if (!without || !withIt)
    return [without ? formatNumber(without.median) : "–", withIt ? formatNumber(withIt.median) : "–", "–"];
  const d = withIt.median - without.median;
  const percent =
    without.median === 0 ? "" : ` (${d >= 0 ? "+" : ""}${((d / without.median) * 100).toFixed(0)} %)`;
  return [
    `${formatNumber(without.median)} (${spread(without, (v) => formatNumber(v))})`,
    `${formatNumber(withIt.median)} (${spread(withIt, (v) => formatNumber(v))})`,
    `${d >= 0 ? "+" : ""}${formatNumber(d)}${percent}`,
  ];
}

/** A count as the page prints it: `1,000`. */
function count(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : Math.round(value).toLocaleString("en-US");
}

/** A value of a result as a number, or undefined. */
function num(r: ScenarioResult, name: string): number | undefined {
  const v = r.values[name];
  return typeof v === "number" ? v : undefined;
}

/** The serve scenario: the extra cost of one `rollcall serve`, and its event stream under churn. */
export function serveSection(results: BenchResults): Section | undefined {
  const rows = resultsOf(results, "serve");
  if (rows.length === 0) return undefined;
  const settings = results.settings as unknown as BenchSettings;
  const members = count(settings.steady?.members);
  const costRows = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", "", "", "", "", "", "", ""];
    const noServer = stat(r, "without.serverCpuPerMinute") === undefined;
    const cpu = beforeAfter(r, "serverCpuPerMinute");
    const req = beforeAfter(r, "requestsPerSecond");
    const serveCpu = stat(r, "with.serveCpuPerMinute");
    return [
      label(r),
      ...(noServer ? ["no server (a file)", "", ""] : cpu),
      ...(noServer ? ["–", "", ""] : req),
      serveCpu ? `${formatNumber(serveCpu.median)} (${spread(serveCpu, (v) => formatNumber(v))})` : "–",
      formatBytes(num(r, "with.serveRssBytes")),
      formatMs(num(r, "serveSnapshotMs")),
    ];
  });
  const churnRows = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", "", "", "", "", "", "", ""];
    const ops = stat(r, "churn.opsPerSecond");
    const cpu = stat(r, "churn.serveCpuPerMinute");
    const equal = r.values["churn.equal"] === true;
    return [
      label(r),
      ops ? formatNumber(ops.median) : "–",
      `${count(num(r, "churn.eventsSeen"))} / ${count(num(r, "churn.changes"))}`,
      `${formatMs(num(r, "churn.lagMedianMs"))} / ${formatMs(num(r, "churn.lagP99Ms"))}`,
      `${formatMs(num(r, "churn.toServerMedianMs"))} + ${formatMs(num(r, "churn.toClientMedianMs"))}`,
      cpu ? formatNumber(cpu.median) : "–",
      String(r.values["churn.drops"] ?? "–"),
      `${equal ? "yes" : "**no**"} (${count(num(r, "churn.modelSize"))} / ${count(num(r, "churn.membersSize"))})`,
      formatMs(num(r, "churn.settleMs")),
      r.values["churn.keptUp"] === true ? "yes" : "**no**",
    ];
  });
  return {
    markdown: [
      "## serve: what one `rollcall serve` costs, and whether its stream keeps up",
      "",
      `The steady scenario's ${members} idle members (one session each, in ${count(settings.steady?.processes)} client processes) and its consumer; ` +
        `the server is measured for ${formatMs(settings.serve?.windowMs)} without the dashboard, then the real CLI's \`rollcall serve\` is started ` +
        "on the same URL, one client reads its event stream (`/events`, what the page reads) until it holds every member, and after a " +
        `warm-up the server is measured again for ${formatMs(settings.serve?.windowMs)} (in ${formatMs(settings.serve?.sliceMs)} slices; medians, IQR in parentheses). ` +
        "*Ready* is from starting the process to the client holding every member. The *without* column is the steady scenario's " +
        'per-member row measured again in this run. SQLite has no server: its "server" is the file, so only the serve process\'s own cost is shown.',
      "",
      table(
        [
          "subject",
          "server CPU s/min without",
          "with serve",
          "difference",
          "server requests/s without",
          "with serve",
          "difference",
          "serve process CPU s/min",
          "serve RSS",
          "ready",
        ],
        costRows,
      ),
      "",
      `Then the idle members leave and the churn scenario's load runs in the same namespace (${count(settings.churn?.coordinators)} coordinators in one process ` +
        `joining and leaving one group as fast as each can, ${settings.churn?.rounds ?? "?"} × ${formatMs(settings.churn?.durationMs)}) while the same client follows the stream. ` +
        "*Lag*: arrival at the client − the moment the member called `join()` / `leave()` (the write included, as in notify), matched by member id and `seq`; " +
        "split at the dashboard server's own stamp into backend → serve and serve → client. *Events seen / made*: the server's view may fold a join and the leave " +
        "right after it into nothing, as in churn. *Model = members()*: the client's model of the group (ids and `seq`s) against `members()` after the last change " +
        "(model / members() sizes). *Kept up*: the stream was never dropped for falling behind and the model equalled `members()` within one session timeout of the last change.",
      "",
      table(
        [
          "subject",
          "joins+leaves/s",
          "events seen / made",
          "lag median / p99",
          "backend → serve + serve → client (medians)",
          "serve CPU s/min",
          "stream drops",
          "model = members()",
          "settled after",
          "kept up",
        ],
        churnRows,
      ),
    ].join("\n"),
    charts: {},
  };
}

/** A part of the config or reactor scenario that failed on a result: its cell text, or undefined when it ran. */
function partFailure(r: ScenarioResult, part: string): string | undefined {
  const error = r.values[`${part}.error`];
  if (typeof error !== "string") return undefined;
  return `**failed**: ${error.length > 90 ? `${error.slice(0, 87)}…` : error}`;
}

/** `median (min – max)` of a metric, in ms. */
function medianRange(summary: Summary | undefined): string {
  return summary ? `${formatMs(summary.median)} (${formatMs(summary.min)} – ${formatMs(summary.max)})` : "–";
}

/** The config scenario: set → watcher, compare-and-set under contention, a snapshot of many entries. */
export function configSection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "config");
  if (rows.length === 0) return undefined;
  const c = (results.settings as unknown as BenchSettings).config;
  const keys = count(rows.map((r) => num(r, "snapshot.keys")).find((n) => n !== undefined) ?? c?.keys);
  const notifyRows = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), String(r.settings.watch ?? ""), status, "", "", "", ""];
    const failed = partFailure(r, "notify");
    if (failed) return [label(r), String(r.settings.watch ?? ""), failed, "", "", "", ""];
    const notify = stat(r, "notifyMs");
    const set = stat(r, "setMs");
    const missing = num(r, "notify.missing") ?? 0;
    const outOfOrder = num(r, "notify.outOfOrder") ?? 0;
    return [
      label(r),
      String(r.settings.watch ?? ""),
      cell(notify, formatMs, (s) => s.median),
      cell(notify, formatMs, (s) => s.p99),
      cell(set, formatMs, (s) => s.median),
      `${notify?.n ?? 0} / ${count(num(r, "notify.sets"))}`,
      missing === 0 && outOfOrder === 0 ? "yes" : `**no**: ${missing} missing, ${outOfOrder} out of order`,
    ];
  });
  const casRows = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", "", "", "", ""];
    const failed = partFailure(r, "cas");
    if (failed) return [label(r), failed, "", "", "", "", ""];
    const correct = r.values["cas.correct"] === true;
    return [
      label(r),
      r.backend === "memory"
        ? `${count(num(r, "cas.writers"))}, in the harness's process`
        : `${count(num(r, "cas.writers"))} in ${count(num(r, "cas.processes"))} processes`,
      formatNumber(num(r, "cas.successesPerSecond")),
      formatNumber(num(r, "cas.conflictsPerSecond")),
      `${count(num(r, "cas.fewestWins"))} – ${count(num(r, "cas.mostWins"))}`,
      count(num(r, "cas.errors")),
      correct
        ? `yes (${count(num(r, "cas.final"))})`
        : `**no**: ${String(r.values["cas.final"] ?? "–")} after ${count(num(r, "cas.successes"))} wins`,
    ];
  });
  const snapshotRows = rows.map((r) => {
    const status = statusText(r);
    if (status) return [label(r), status, "", ""];
    const failed = partFailure(r, "snapshot");
    if (failed) return [label(r), failed, "", ""];
    return [
      label(r),
      formatMs(num(r, "snapshot.loadMs")),
      medianRange(stat(r, "snapshotMs")),
      medianRange(stat(r, "entriesMs")),
    ];
  });
  const notifyChart = barChart(
    rows.map((r) => bar(r, stat(r, "notifyMs"), (s) => formatMs(s.median))),
    {
      title: "config: set() → put event at a watcher in another process (median, IQR whiskers)",
      axisLabel: "milliseconds, log scale",
      log: true,
      format: (v) => formatMs(v),
    },
  );
  const casChart = barChart(
    rows.map((r): Bar => {
      const value = num(r, "cas.successesPerSecond");
      if (r.status !== "ok" || value === undefined) return bar(r, undefined);
      return { label: label(r), value, color: color(r), text: `${formatNumber(value)}/s` };
    }),
    {
      title: `config: successful compare-and-sets per second, ${c?.casWriters ?? "?"} writers on one key`,
      axisLabel: "per second, log scale",
      log: true,
    },
  );
  return {
    markdown: [
      "## config: configuration stores — set → watcher, compare-and-set, a large snapshot",
      "",
      "Configuration entries (`coord.config(name)`) belong to no session; every backend keeps them and watches them its own way. " +
        "Each part runs in a store of its own in a fresh namespace. tooz has no configuration API, so it has no row here; on etcd " +
        "the etcd3 npm client's own `get` / `put` / `watch` on the same server stands beside rollcall (*etcd3 client*: plain keys " +
        "holding the JSON value, version = `mod_revision`).",
      "",
      `*Set → watcher*: a writer process sets one key ${count(c?.sets)} times, each after a random pause of up to ${formatMs(c?.maxGapMs)}; ` +
        "a watcher in another process (`watch()`; etcd3: a prefix watch) reports each `put`. Latency is the watcher's receipt minus the moment " +
        "the writer *called* `set()`, so it includes the write (*set()* alone in its own column). *Complete, in order*: every set was reported, " +
        "and no event carried a version below one before it.",
      "",
      chartRef(links, "config-notify.svg", "config set → watcher chart"),
      "",
      table(
        [
          "subject",
          "how the watcher learns",
          "set → watcher median",
          "p99",
          "set() median",
          "n / sets",
          "complete, in order",
        ],
        notifyRows,
      ),
      "",
      `*Compare-and-set under contention*: ${count(c?.casWriters)} writers (coordinators; etcd3: clients) in ${count(c?.casProcesses)} processes ` +
        `increment one counter for ${formatMs(c?.casDurationMs)}, each as fast as it can: read the entry, then \`set(key, value + 1, { ifVersion })\` ` +
        "(etcd3: a get, then a transaction comparing `mod_revision`). *Refused* is the compare-and-sets another writer beat (`VERSION_MISMATCH`); " +
        "*counter right* checks that the final value equals the successful compare-and-sets and that every value in between was won exactly once.",
      "",
      chartRef(links, "config-cas.svg", "config compare-and-set chart"),
      "",
      table(
        [
          "subject",
          "writers",
          "successful CAS/s",
          "refused CAS/s",
          "wins per writer (fewest – most)",
          "errors",
          "counter right (final value)",
        ],
        casRows,
      ),
      "",
      `*Snapshot*: ${keys} entries are written (by ${count(c?.loaderSessions)} coordinators, ${count(c?.loadConcurrency)} writes in flight), ` +
        `then ${count(c?.snapshotRepetitions)} times a freshly connected coordinator (etcd3: client; the connection not counted) starts a watch and ` +
        "waits for its first event, the snapshot, then calls `entries()` (etcd3: one prefix range read; its new watcher = that read + creating the watch).",
      "",
      table(
        [
          "subject",
          `write ${keys} entries`,
          "new watcher's snapshot, median (min – max)",
          "entries(), median (min – max)",
        ],
        snapshotRows,
      ),
    ].join("\n"),
    charts: { "config-notify.svg": notifyChart, "config-cas.svg": casChart },
  };
}

/** The reactor's runs per departure, for a table cell: `1`, or the spread, with what never ran in bold. */
function reactorRuns(r: ScenarioResult, prefix: string, allowed: number): string {
  const min = num(r, `${prefix}.minRuns`);
  const max = num(r, `${prefix}.maxRuns`);
  if (min === undefined || max === undefined) return "–";
  const missing = num(r, `${prefix}.missing`) ?? 0;
  const runs = min === max ? count(max) : `${count(min)} – ${count(max)}`;
  const text = max > allowed ? `**${runs}**` : runs;
  return missing > 0 ? `${text}, **${count(missing)} never run**` : text;
}

/** A count that must be zero: `0`, or the count in bold. */
function mustBeZero(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value === 0 ? "0" : `**${count(value)}**`;
}

/**
 * The reactor scenario: SIGKILL of a member → the acting reactor's handler; SIGKILL of the acting reactor →
 * the standby taking over (and → its handler, after the rest of a pending departure's grace).
 */
export function reactorSection(results: BenchResults, links: PageLinks): Section | undefined {
  const rows = resultsOf(results, "reactor");
  if (rows.length === 0) return undefined;
  const settings = results.settings as unknown as BenchSettings;
  const r = settings.reactor;
  const timeout = settings.sessionTimeoutMs;
  const killRows = rows.map((row) => {
    const bound = formatMs(num(row, "sessionTimeoutMs") ?? Number(row.settings.sessionTimeoutMs));
    const status = statusText(row) ?? partFailure(row, "kill");
    if (status) return [label(row), bound, status, "", "", "", "", "", "", "", ""];
    const held = stat(row, "killDefaultMs");
    const heldRatio = stat(row, "killDefaultRatio");
    const direct = stat(row, "killDirectMs");
    const directRatio = stat(row, "killDirectRatio");
    const runsDefault = reactorRuns(row, "kill.default", 1);
    const runsDirect = reactorRuns(row, "kill.direct", 1);
    const braked = ["default", "direct"].filter((v) => row.values[`kill.${v}.braked`] === true);
    return [
      label(row),
      bound,
      cell(held, formatMs, (s) => s.median),
      cell(heldRatio, formatRatio, (s) => s.median),
      cell(heldRatio, formatRatio, (s) => s.max),
      cell(direct, formatMs, (s) => s.median),
      cell(directRatio, formatRatio, (s) => s.median),
      cell(directRatio, formatRatio, (s) => s.max),
      count(num(row, "kill.kills")),
      (runsDefault === runsDirect ? runsDefault : `${runsDefault} / ${runsDirect}`) +
        (braked.length > 0 ? ` (**braked**: ${braked.join(", ")})` : ""),
      mustBeZero(
        (num(row, "kill.default.pendingLeft") ?? Number.NaN) +
          (num(row, "kill.direct.pendingLeft") ?? Number.NaN),
      ),
    ];
  });
  const failoverRows = rows.map((row) => {
    const status = statusText(row) ?? partFailure(row, "failover");
    if (status) return [label(row), status, "", "", "", "", "", "", "", "", ""];
    const takeover = stat(row, "takeoverMs");
    const takeoverRatio = stat(row, "takeoverRatio");
    const handler = stat(row, "failoverHandlerMs");
    const handlerRatio = stat(row, "failoverHandlerRatio");
    const noTakeover = num(row, "failover.noTakeover") ?? 0;
    return [
      label(row),
      formatMs(num(row, "failover.graceMs")),
      cell(takeover, formatMs, (s) => s.median),
      cell(takeoverRatio, formatRatio, (s) => s.median),
      cell(takeoverRatio, formatRatio, (s) => s.max) +
        (noTakeover > 0 ? `, **${count(noTakeover)} never taken over**` : ""),
      cell(handler, formatMs, (s) => s.median),
      cell(handlerRatio, formatRatio, (s) => s.median),
      count(num(row, "failover.trials")),
      reactorRuns(row, "failover", 2),
      mustBeZero(num(row, "failover.byKilled")),
      mustBeZero(num(row, "failover.pendingLeft")),
    ];
  });
  const killBars = rows.flatMap((row): Bar[] => {
    const held = bar(row, stat(row, "killDefaultRatio"), (s) => formatRatio(s.median));
    const direct = bar(row, stat(row, "killDirectRatio"), (s) => formatRatio(s.median));
    held.label = `${label(row)}, default`;
    direct.label = `${label(row)}, brake off, grace 0`;
    if (direct.value !== undefined) direct.color = COLORS.muted;
    return [held, direct];
  });
  const killChart = barChart(
    killBars,
    ratioChart("reactor: SIGKILL of a member → the acting reactor's handler, ÷ timeout (median, IQR)"),
  );
  const failoverBars = rows.flatMap((row): Bar[] => {
    const takeover = bar(row, stat(row, "takeoverRatio"), (s) => formatRatio(s.median));
    const handler = bar(row, stat(row, "failoverHandlerRatio"), (s) => formatRatio(s.median));
    takeover.label = `${label(row)}, takeover`;
    handler.label = `${label(row)}, handler (rest of the grace)`;
    if (handler.value !== undefined) handler.color = COLORS.muted;
    return [takeover, handler];
  });
  const failoverChart = barChart(
    failoverBars,
    ratioChart(
      "reactor: SIGKILL of the acting reactor → the standby acting, and → its handler, ÷ timeout (median, IQR)",
    ),
  );
  const ballast = count(
    rows.map((row) => num(row, "kill.ballast")).find((n) => n !== undefined) ?? r?.ballast,
  );
  return {
    markdown: [
      "## reactor: from a crash to the corrective action, and across a failover of the actor",
      "",
      "`coord.reactor(group, handler)` runs the handler in one process — the one holding the reactor's election — once for every " +
        "member incarnation that left the group. Here two reactor processes (one acting, one standing by) follow a group of member " +
        `processes and ${ballast} live members in a process that is never killed (so no round of kills reaches the mass-failure brake's ` +
        "fraction, ½). The handler only reports that it was entered; times run from a SIGKILL to that moment, in whichever reactor process " +
        "ran it, and are divided by the session timeout. tooz, etcd and the Nova heartbeat have no reactor, so they have no row here.",
      "",
      `*Kill*: ${count((r?.rounds ?? 0) * (r?.membersPerRound ?? 0))} member processes, in rounds of ${count(r?.membersPerRound)}, ` +
        "are each SIGKILLed at a random moment within one session timeout, as in detect. Two reactors follow the same group: with the *default* " +
        `options a departure is held for half the brake's window — one session timeout (${formatMs(timeout)}) — so that a mass failure is seen whole ` +
        "before the first action; with `brake: false, grace: 0` the handler starts as soon as the reactor's view reports the leave, so that column is " +
        "detection plus dispatch. *Runs per departure* must be 1 (default / brake off where they differ); *left pending*: what `reactorStatus()` still " +
        "lists once the last run was recorded.",
      "",
      chartRef(links, "reactor-kill.svg", "reactor kill chart"),
      "",
      table(
        [
          "subject",
          "timeout",
          "default: median",
          "÷ timeout",
          "max ÷ timeout",
          "brake off, grace 0: median",
          "÷ timeout",
          "max ÷ timeout",
          "kills",
          "runs per departure",
          "left pending",
        ],
        killRows,
      ),
      "",
      `*Failover*: ${count(r?.failovers)} trials. A member is killed; once the acting reactor has stored its departure as pending (a grace of ` +
        `${r?.graceRatio ?? "?"}× the timeout keeps it pending), the acting reactor's process is SIGKILLed at a random moment within one session ` +
        "timeout (so at every phase of its keep-alive). *Takeover*, the failover itself: that kill → the standby reports it acts (it won the " +
        "reactor's election, which it can once the killed reactor's session has expired — see failover — and fenced the stored record with its " +
        "token). *Kill → handler*: that kill → the new actor's handler entered for the departure. The new actor keeps what is left of a pending " +
        "departure's grace (counted from when the member departed, neither restarted nor cut short by the failover), so this is mostly the rest " +
        "of the grace, not the failover. A new standby is started for the next trial. A second run of a departure is allowed by the reactor's " +
        "contract (side effects at-least-once) but counted; *run by the killed actor*: runs the killed reactor had started before its SIGKILL.",
      "",
      chartRef(links, "reactor-failover.svg", "reactor failover chart"),
      "",
      table(
        [
          "subject",
          "grace",
          "takeover: median",
          "÷ timeout",
          "max ÷ timeout",
          "kill → handler: median",
          "÷ timeout",
          "trials",
          "runs per departure",
          "run by the killed actor",
          "left pending",
        ],
        failoverRows,
      ),
    ].join("\n"),
    charts: { "reactor-kill.svg": killChart, "reactor-failover.svg": failoverChart },
  };
}

function setupSection(results: BenchResults): string {
  const settings = results.settings as unknown as BenchSettings;
  const machine = results.machine as Record<string, unknown>;
  const load = (v: unknown) => (Array.isArray(v) ? v.map((x: number) => x.toFixed(2)).join(" / ") : "?");
  const servers = Object.entries(results.versions)
    .filter(([k]) => k.startsWith("server:"))
    .map(([k, v]) => `${k.slice(7)}: ${v}`);
  const subjects = new Map<string, ScenarioResult>();
  for (const r of results.results)
    if (r.settings.watch && !subjects.has(r.subject)) subjects.set(r.subject, r);
  return [
    "## Setup",
    "",
    `- Machine: ${machine.host}, ${machine.cpus} × ${machine.cpuModel}, ${formatBytes(Number(machine.memoryBytes))}, ` +
      `${machine.os}, Linux ${machine.kernel}; load average (1/5/15 min) ${load(machine.loadAverageAtStart)} at the start, ` +
      `${load(machine.loadAverageAtEnd)} at the end.`,
    `- Run: \`${results.command}\` (${results.mode}), ${results.startedAt} → ${results.endedAt} ` +
      `(${Math.round(results.durationMs / 60000)} min).`,
    `- Servers (throwaway, on 127.0.0.1, from \`@rollcall/servers\`, started by the harness): ${servers.join("; ") || "none"}.`,
    `- Versions: Node ${results.versions.node}; tooz ${results.versions["python3-tooz"]} with kazoo ${results.versions["python3-kazoo"]}, ` +
      `redis-py ${results.versions["python3-redis"]}, python3-etcd3 ${results.versions["python3-etcd3"]} (${results.versions.python}).`,
    `- Detection bound for everyone: **${formatMs(settings.sessionTimeoutMs)}** — rollcall \`sessionTimeout=${settings.sessionTimeoutMs}\`, ` +
      `tooz \`timeout\`/\`membership_timeout\`/\`lock_timeout\` = ${settings.sessionTimeoutMs / 1000} s, Nova tuned ` +
      `\`service_down_time\` = ${settings.sessionTimeoutMs / 1000} s with \`report_interval\` = ${formatMs(settings.nova?.tuned.reportIntervalMs)}. ` +
      `Nova defaults: \`report_interval\` = 10 s, \`service_down_time\` = 60 s.`,
    `- tooz is driven as its users drive it: \`start(start_heart=True)\`, \`watch_join_group\` / \`watch_leave_group\` / ` +
      `\`watch_elected_as_leader\`, and one loop calling \`run_watchers()\` every **${settings.tooz?.intervalMs ?? 1000} ms**; ` +
      `in this run on ${(settings.tooz?.backends ?? []).join(", ") || "no backend"} (tooz's drivers for PostgreSQL and MySQL ` +
      "have locks but no group membership), for notify, detect, failover and churn. All three Python libraries tooz needs for them " +
      "(python3-kazoo, python3-redis, python3-etcd3) are packaged by Debian.",
    "",
    table(
      ["subject", "how watchers learn of changes", "how members stay alive"],
      [...subjects.values()].map((r) => [
        r.kind === "etcd3" ? label(r, false) : `${r.kind} · ${r.backend}`,
        String(r.settings.watch),
        String(r.settings.liveness ?? ""),
      ]),
    ),
  ].join("\n");
}

function failuresSection(results: BenchResults): string | undefined {
  const bad = results.results.filter((r) => r.status !== "ok");
  if (bad.length === 0 && results.backendFailures.length === 0) return undefined;
  return [
    "## Failures and gaps in this run",
    "",
    ...results.backendFailures.map((f) => `- **${f.backend}**: ${f.error}`),
    ...bad.map(
      (r) =>
        `- ${label(r)} — ${r.scenario}: ${r.status === "unsupported" ? "not supported" : r.status === "skipped" ? "skipped" : "**failed**"}: ${(r.error ?? "").split("\n")[0]}`,
    ),
  ].join("\n");
}

const METHOD = `## Method, and how far to trust these numbers

- **These machines are shared and noisy.** Other engineers' builds and tests ran at the same time (see the load averages above),
  on 2 cores. Every timing is a median over repeated runs within this one invocation, with the spread next to it (IQR = 25th–75th
  percentile; p99 with fewer than 100 samples is close to the maximum). Compare subjects within a run, as ratios, not across runs.
- Times are taken on the host's wall clock by the process that sees the event (\`performance.timeOrigin + performance.now()\` in
  Node, \`time.time()\` in Python): the same clock for every process, so stamps from two processes can be subtracted.
- Servers run with durability off (ZooKeeper \`forceSync=no\`, PostgreSQL \`fsync=off\`, MariaDB
  \`innodb_flush_log_at_trx_commit=0\`, Redis's append-only file without fsync): costs are CPU and protocol, not disks.
- Every scenario runs in a fresh namespace (and group names), is bounded in count and time, and ends the processes it started.
  Servers listen on 127.0.0.1 only, except the partition scenario's: its own server per backend listens on the bridge address
  of a network lab (a private 10.231.X.0/24 network of namespaces), which the harness makes and removes.
- memory:// is in-process only: its "processes" are agents inside the harness's process, and "SIGKILL" is the backend's
  \`freeze\` hook (heartbeats stop, the store's reaper expires the session).
- The Nova peer is the pattern of \`nova/servicegroup/drivers/db.py\`: each service saves its row every \`report_interval\`
  (\`SELECT\` + \`UPDATE services SET updated_at, report_count\` in one transaction, through a pool, as nova-conductor does for
  nova-compute); the consumer reads all compute services every poll and calls a service up when
  \`abs(now − updated_at) ≤ service_down_time\`. At Nova's defaults detection is long; in a quick run it is computed as a bound
  (down after \`service_down_time − report_interval\` … \`service_down_time + poll\`), in a full run a few kills are measured too.
- Not measured: network latency (all on loopback or one bridge), clusters (single-node servers), TLS, and disks.`;

/**
 * The intro's clause on the Nova DB heartbeat, naming only the servers it ran on in these results:
 * ` and next to the Nova DB heartbeat on the same PostgreSQL and MariaDB servers`, or nothing without it.
 */
export function novaPeerClause(results: BenchResults): string {
  const servers = novaServerNames(results);
  if (servers.length === 0) return "";
  const last = servers[servers.length - 1];
  return servers.length === 1
    ? ` and next to the Nova DB heartbeat on the same ${last}`
    : ` and next to the Nova DB heartbeat on the same ${servers.slice(0, -1).join(", ")} and ${last} servers`;
}

/** Renders the page (markdown) and its charts (file name → SVG) from a results file. */
export function renderPage(
  results: BenchResults,
  links: PageLinks,
): { markdown: string; charts: Record<string, string> } {
  const sections = [
    notifySection(results, links),
    detectSection(results, links),
    failoverSection(results, links),
    churnSection(results, links),
    steadySection(results, links),
    scaleSection(results, links),
    partitionSection(results, links),
    serveSection(results),
    configSection(results, links),
    reactorSection(results, links),
  ].filter((s): s is Section => s !== undefined);
  const charts: Record<string, string> = {};
  for (const s of sections) Object.assign(charts, s.charts);
  const failures = failuresSection(results);
  const markdown = [
    "# Benchmarks",
    "",
    "<!-- Generated by `pnpm bench` (benchmarks/src/report/page.ts) from the results file linked below. Do not edit by hand: re-run, or `pnpm bench --render <results.json> --docs`. -->",
    "",
    `Every rollcall backend side by side on the same machine, next to OpenStack tooz on the same servers${novaPeerClause(results)}: ` +
      "how fast watchers hear of changes, how fast crashes are detected, how long elections go " +
      "leaderless, how many changes per second a group takes, what idle members cost the server, what a group of 10,000 members " +
      "costs a reader, what a network partition does to a member and to a leader, what the dashboard (`rollcall serve`) costs, how " +
      "configuration stores (`coord.config()`) notify, race and snapshot, and how soon the reactor acts on a crash and after its own failover.",
    "",
    `Raw samples, machine and versions: [${links.resultsHref}](${links.resultsHref}). ` +
      "Run it yourself: `bash scripts/setup.sh && pnpm bench` (about 55 minutes), or `pnpm bench:quick` (a few minutes), " +
      "`--backend zookeeper,redis`, `--scenario notify,detect` to select (see `benchmarks/README.md`).",
    "",
    "## Reading",
    "",
    reading(results),
    "",
    setupSection(results),
    "",
    ...sections.flatMap((s) => [s.markdown, ""]),
    ...(failures ? [failures, ""] : []),
    METHOD,
    "",
  ].join("\n");
  return { markdown, charts };
}
