/**
 * Writes docs/dashboard.png: a populated dashboard (groups with churn, an expiry, an election with a
 * queue and a fail-over, a lock with waiters) on the memory backend, in Debian's chromium.
 * Run: pnpm --filter @rollcall/dashboard screenshot
 */
import { join } from "node:path";
import { type Coordinator, connect } from "@rollcall/core";
import { dashboardHandler } from "@rollcall/dashboard";
import { memorySessions } from "@rollcall/memory";
import { launchChromium } from "../test/support/browser.js";
import { serve } from "../test/support/http-client.js";
import { repositoryRoot } from "./repository-root.js";

const OUT = join(repositoryRoot(), "docs", "dashboard.png");
const URL_ = "memory://screenshot?sessionTimeout=3000";
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const coords: Coordinator[] = [];

async function member(id: string): Promise<Coordinator> {
  const c = await connect(URL_, { memberId: id });
  coords.push(c);
  return c;
}

async function main(): Promise<void> {
  const serving = await connect(URL_, { memberId: "rollcall-serve" });
  const handler = dashboardHandler(serving, {
    label: "memory://screenshot",
    discoveryInterval: 200,
    pageSize: 8,
    sampleKeys: ["instance-42", "instance-77", "tenant-acme"],
  });
  const http = await serve(handler);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
  await page.goto(`${http.base}/`);
  const zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
  for (let i = 1; i <= 10; i++) {
    const c = await member(`compute-${String(i).padStart(2, "0")}`);
    await c.join("compute", {
      createGroup: true,
      metadata: { cpus: 16 * (1 + (i % 4)), zone: zones[i % 3] as string },
    });
    await pause(250);
  }
  for (let i = 1; i <= 3; i++) {
    const c = await member(`api-${i}`);
    await c.join("scheduler-api", { createGroup: true, metadata: { version: "2026.12.1", port: 8774 } });
  }
  const schedulers = await Promise.all([member("scheduler-a"), member("scheduler-b"), member("scheduler-c")]);
  const [a, b, c] = schedulers as [Coordinator, Coordinator, Coordinator];
  await a.election("scheduler").campaign();
  const waitingB = b.election("scheduler").campaign();
  await pause(100);
  const waitingC = c.election("scheduler").campaign();
  const migrators = await Promise.all([member("migrate-1"), member("migrate-2"), member("migrate-3")]);
  await migrators[0]?.lock("db-migration").acquire();
  const waits = [migrators[1]?.lock("db-migration").acquire(), migrators[2]?.lock("db-migration").acquire()];
  await pause(1200);
  // A crash: the session expires (as SIGKILL past the timeout), and the leader's too: fail-over.
  memorySessions.expire("compute-04");
  await pause(1200);
  memorySessions.expire("scheduler-a");
  await waitingB;
  await coords.find((x) => x.memberId === "compute-07")?.leave("compute");
  await pause(1200);
  const late = await member("compute-11");
  await late.join("compute", { metadata: { cpus: 32, zone: "eu-west-1b" } });
  await late.updateMetadata("compute", { cpus: 32, zone: "eu-west-1b", draining: true });
  await page.waitForSelector('tr[data-election="scheduler"][data-holder="scheduler-b"]');
  await page.waitForSelector('tr[data-lock="db-migration"][data-holder="migrate-1"]');
  await pause(1500);
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(`wrote ${OUT}`);
  await browser.close();
  await http.close();
  await handler.close();
  void waitingC.catch(() => {});
  for (const w of waits) void w?.catch(() => {});
  await Promise.allSettled(coords.map((x) => x.close()));
  await serving.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
