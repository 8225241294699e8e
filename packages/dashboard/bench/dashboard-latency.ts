/**
 * Measures the dashboard (numbers go in the package README; not a test):
 * 1. join in a member process → its row in chromium's DOM, median and p99, on Redis and SQLite;
 * 2. first render of a 10,000-member group (page load → every visible row in the DOM);
 * 3. heap of the serving process per watched member (the view's cache and the dashboard).
 * Run: pnpm --filter @rollcall/dashboard bench   (SAMPLES=40 by default)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChildMember, randomId, withParams } from "@rollcall/conformance";
import { type Coordinator, connect } from "@rollcall/core";
import { dashboardHandler } from "@rollcall/dashboard";
import "@rollcall/memory";
import "@rollcall/redis";
import "@rollcall/sql";
import { startRedis } from "@rollcall/servers";
import type { Browser } from "playwright-core";
import { launchChromium } from "../test/support/browser.js";
import { get, serve } from "../test/support/http-client.js";

const SAMPLES = Number(process.env.SAMPLES ?? 40);
const BIG = Number(process.env.BIG ?? 10_000);
/** What to measure: any of redis, sqlite, big (default: all). */
const ONLY = new Set((process.env.ONLY ?? "redis,sqlite,big").split(","));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Join → DOM row latency: members join one at a time from their own processes. */
async function joinToRow(browser: Browser, name: string, url: string): Promise<void> {
  const coord = await connect(url, { memberId: "dashboard" });
  await coord.createGroup("bench");
  const handler = dashboardHandler(coord, { discoveryInterval: 200, pageSize: 100 });
  const http = await serve(handler);
  const page = await browser.newPage();
  // Before the page's script: note when each join message arrives and the server's time stamp on it.
  await page.addInitScript(() => {
    const arrived: Record<string, [number, number]> = {};
    (window as unknown as { arrived: typeof arrived }).arrived = arrived;
    const Original = window.EventSource;
    window.EventSource = class extends Original {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        this.addEventListener("message", (event) => {
          const now = Date.now();
          for (const m of JSON.parse((event as MessageEvent<string>).data) as {
            type: string;
            at: number;
            member?: { id: string };
          }[]) {
            if (m.type === "join" && m.member) arrived[m.member.id] = [m.at, now];
          }
        });
      }
    };
  });
  await page.goto(`${http.base}/`);
  await page.waitForSelector('[data-group="bench"]');
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seen: Record<string, number> }).seen = seen;
    new MutationObserver(() => {
      for (const row of document.querySelectorAll("tr[data-member]")) {
        const id = row.getAttribute("data-member") as string;
        if (!(id in seen)) seen[id] = Date.now();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  const children: ChildMember[] = [];
  const latencies: number[] = [];
  const parts = { backend: [] as number[], stream: [] as number[], render: [] as number[] };
  try {
    for (let i = 0; i < SAMPLES; i++) {
      const id = `m-${i}`;
      const child = new ChildMember({ url, memberId: id, join: [{ group: "bench" }] });
      children.push(child);
      const ready = await child.ready(30_000);
      await page.waitForSelector(`tr[data-member="${id}"]`, { timeout: 30_000, state: "attached" });
      const [seen, arrived] = await page.evaluate((m) => {
        const w = window as unknown as {
          seen: Record<string, number>;
          arrived: Record<string, [number, number]>;
        };
        return [w.seen[m], w.arrived[m]] as const;
      }, id);
      // Gracefully gone again: the machine only ever runs one member process at a time.
      child.close();
      await child.exit(15_000);
      const readyAt = Number((ready as { at: number }).at);
      latencies.push((seen ?? Number.NaN) - readyAt);
      if (arrived) {
        parts.backend.push(arrived[0] - readyAt);
        parts.stream.push(arrived[1] - arrived[0]);
        parts.render.push((seen ?? Number.NaN) - arrived[1]);
      }
    }
  } finally {
    await Promise.allSettled(children.map((c) => c.dispose()));
    await page.close();
    await http.close();
    await handler.close();
    await coord.close();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `${name}: join (member process's join acknowledged) → row in the DOM, ${SAMPLES} samples: median ${quantile(sorted, 0.5)} ms, p99 ${quantile(sorted, 0.99)} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms`,
  );
  const median = (xs: number[]) =>
    quantile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  const p99 = (xs: number[]) =>
    quantile(
      [...xs].sort((a, b) => a - b),
      0.99,
    );
  console.log(
    `${name}: of which (median / p99) backend → dashboard server ${median(parts.backend)} / ${p99(parts.backend)} ms, server → page's EventSource ${median(parts.stream)} / ${p99(parts.stream)} ms, message → row in the DOM ${median(parts.render)} / ${p99(parts.render)} ms`,
  );
}

/** First render of a big group, the snapshot's size, and heap per watched member. */
async function bigGroup(browser: Browser): Promise<void> {
  const url = `memory://${randomId("big")}?sessionTimeout=600000`;
  const members: Coordinator[] = [];
  for (let i = 0; i < BIG; i++) {
    const c = await connect(url, { memberId: `node-${i}` });
    await c.join("big", { createGroup: true, metadata: { i, zone: `zone-${i % 3}`, cpus: 64 } });
    members.push(c);
  }
  const coord = await connect(url, { memberId: "dashboard" });
  gc();
  const before = process.memoryUsage().heapUsed;
  const handler = dashboardHandler(coord, { discoveryInterval: 60_000 });
  await handler.refresh();
  gc();
  const after = process.memoryUsage().heapUsed;
  console.log(
    `serving process heap per watched member (view cache + dashboard, ${BIG} members): ${((after - before) / BIG).toFixed(0)} bytes`,
  );
  const http = await serve(handler);
  const state = await get(`${http.base}/state`);
  console.log(`snapshot of ${BIG} members: ${(Buffer.byteLength(state.body) / 1024).toFixed(0)} KiB of JSON`);
  const page = await browser.newPage();
  const renders: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = Date.now();
    await page.goto(`${http.base}/`);
    await page.waitForSelector(`[data-group="big"][data-size="${BIG}"] tr[data-member]`, { timeout: 60_000 });
    renders.push(Date.now() - start);
    const rows = await page.$$eval("tr[data-member]", (e) => e.length);
    if (rows > 100) throw new Error(`${rows} rows in the DOM`);
  }
  const sorted = [...renders].sort((a, b) => a - b);
  console.log(
    `first render of a ${BIG}-member group (navigation → rows in the DOM), 5 loads: median ${quantile(sorted, 0.5)} ms, max ${sorted.at(-1)} ms`,
  );
  await page.close();
  await http.close();
  await handler.close();
  await coord.close();
  await Promise.allSettled(members.map((c) => c.close()));
}

async function main(): Promise<void> {
  const browser = await launchChromium();
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), "rollcall-dashboard-bench-"));
  try {
    if (ONLY.has("redis")) {
      await joinToRow(
        browser,
        "redis",
        withParams(redis.url, { namespace: randomId("bench"), sessionTimeout: 2000 }),
      );
    }
    if (ONLY.has("sqlite"))
      await joinToRow(browser, "sqlite", `sqlite://${dir}/bench.db?sessionTimeout=2000`);
    if (ONLY.has("big")) await bigGroup(browser);
  } finally {
    await browser.close();
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
