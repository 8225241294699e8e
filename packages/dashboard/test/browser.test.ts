import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChildMember, eventually, randomId, withParams } from "@rollcall/conformance";
import { type Coordinator, connect, redactUrl, releaseReactor } from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";
import "@rollcall/redis";
import "@rollcall/sql";
import { startRedis } from "@rollcall/servers";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashboardHandler, dashboardHandler } from "../src/index.js";
import { launchChromium } from "./support/browser.js";
import { serve } from "./support/http-client.js";
import { registerNoConfigBackend } from "./support/no-config-backend.js";

const SESSION_TIMEOUT = 2000;
/** Detection allowance on top of the session timeout on a loaded 2-core machine (measured values are printed). */
const DETECTION_SLACK = 4000;

let browser: Browser;
let redis: Awaited<ReturnType<typeof startRedis>>;
const dir = mkdtempSync(join(tmpdir(), "rollcall-dashboard-"));
const children: ChildMember[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  redis = await startRedis({ password: "browser-pw-secret" });
});
afterAll(async () => {
  await Promise.allSettled(children.map((c) => c.dispose()));
  await browser?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A coordinator in this process, a dashboard on a loopback server, and a page showing it. */
async function open(
  url: string,
  options: Parameters<typeof dashboardHandler>[1] = {},
): Promise<{
  coord: Coordinator;
  handler: DashboardHandler;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}> {
  const coord = await connect(url, { memberId: "dashboard" });
  const handler = dashboardHandler(coord, { label: redactUrl(url), discoveryInterval: 200, ...options });
  const http = await serve(handler);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("dialog", (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${http.base}/`);
  await page.waitForSelector('#session[data-session="connected"]', { timeout: 15_000 });
  return {
    coord,
    handler,
    page,
    errors,
    close: async () => {
      await page.close();
      await http.close();
      await handler.close();
      await coord.close();
    },
  };
}

function member(
  url: string,
  memberId: string,
  script: Partial<ConstructorParameters<typeof ChildMember>[0]>,
): ChildMember {
  const child = new ChildMember({ url, memberId, ...script });
  children.push(child);
  return child;
}

const backends: [string, () => string][] = [
  ["redis", () => withParams(redis.url, { namespace: randomId("ns"), sessionTimeout: SESSION_TIMEOUT })],
  ["sqlite", () => `sqlite://${dir}/dash.db?namespace=${randomId("ns")}&sessionTimeout=${SESSION_TIMEOUT}`],
];

describe.each(backends)("the dashboard in chromium on %s", (_name, makeUrl) => {
  it("shows joins, a crash as an expiry within the session bound, and the fail-over to a larger token — live", async () => {
    const url = makeUrl();
    const seed = await connect(url, { memberId: "seed" });
    await seed.createGroup("compute");
    const dash = await open(url);
    const { page } = dash;
    try {
      const m1 = member(url, "compute-1", { join: [{ group: "compute", metadata: { cpus: 8 } }] });
      const m2 = member(url, "compute-2", { join: [{ group: "compute", metadata: { cpus: 16 } }] });
      await Promise.all([m1.ready(20_000), m2.ready(20_000)]);
      const row = '[data-group="compute"] tr[data-member="compute-1"]';
      await page.waitForSelector(row, { timeout: 10_000 });
      await page.waitForSelector('[data-group="compute"] tr[data-member="compute-2"]', { timeout: 10_000 });
      expect(await page.textContent(`${row} td.meta`)).toBe('{"cpus":8}');
      await page.waitForSelector('#timeline li[data-event="join"][data-member="compute-1"]', {
        timeout: 10_000,
      });

      const killedAt = Date.now();
      m1.kill();
      await page.waitForSelector(
        '#timeline li[data-event="leave"][data-member="compute-1"][data-reason="expired"]',
        {
          timeout: SESSION_TIMEOUT + DETECTION_SLACK,
        },
      );
      const detected = Date.now() - killedAt;
      console.log(
        `${_name}: SIGKILLed member shown as expired after ${detected} ms (session ${SESSION_TIMEOUT} ms)`,
      );
      expect(detected).toBeLessThanOrEqual(SESSION_TIMEOUT + DETECTION_SLACK);
      await page.waitForSelector(row, { state: "detached", timeout: 5000 });
      expect(await page.getAttribute('[data-group="compute"]', "data-size")).toBe("1");

      const l1 = member(url, "scheduler-1", { campaign: { election: "scheduler" } });
      await l1.ready(20_000);
      const elected = await page.waitForSelector('tr[data-election="scheduler"][data-holder="scheduler-1"]', {
        timeout: 10_000,
      });
      const firstToken = BigInt((await elected.getAttribute("data-token")) ?? "0");
      const l2 = member(url, "scheduler-2", { campaign: { election: "scheduler" } });
      await l2.ready(20_000);
      await page.waitForFunction(
        () => document.querySelector('tr[data-election="scheduler"]')?.textContent?.includes("scheduler-2"),
        undefined,
        { timeout: 10_000 },
      );
      l1.kill();
      const failover = await page.waitForSelector(
        'tr[data-election="scheduler"][data-holder="scheduler-2"]',
        {
          timeout: SESSION_TIMEOUT + DETECTION_SLACK,
        },
      );
      const secondToken = BigInt((await failover.getAttribute("data-token")) ?? "0");
      expect(secondToken > firstToken).toBe(true);
      expect(Number(await failover.getAttribute("data-transitions"))).toBeGreaterThanOrEqual(1);
      await page.waitForSelector(
        `#timeline li[data-event="leader"][data-member="scheduler-2"][data-token="${secondToken}"]`,
        {
          timeout: 5000,
        },
      );
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await seed.close();
    }
  });
});

describe.each(backends)("configuration in the dashboard in chromium on %s", (_name, makeUrl) => {
  it("shows a value set through the API, then its change first in the history — live", async () => {
    const url = makeUrl();
    const writer = await connect(url, { memberId: "writer" });
    const nova = writer.config("nova");
    const v1 = await nova.set("scheduler/max_attempts", 5);
    const dash = await open(url);
    const { page } = dash;
    const row = (version: bigint) =>
      `[data-config="nova"] tr[data-key="scheduler/max_attempts"][data-version="${version}"]`;
    try {
      await page.waitForSelector(row(v1), { timeout: 10_000 });
      expect(await page.textContent(`${row(v1)} td.value`)).toBe("5");
      const v2 = await nova.set("scheduler/max_attempts", { attempts: 6 });
      await page.waitForSelector(row(v2), { timeout: 10_000 });
      expect(await page.textContent(`${row(v2)} td.value`)).toBe('{"attempts":6}');
      const change = await page.waitForSelector(
        `[data-config="nova"] .history li[data-change="put"][data-version="${v2}"]`,
        { timeout: 5000 },
      );
      expect(await change.textContent()).toContain('scheduler/max_attempts = {"attempts":6}');
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await nova.delete("scheduler/max_attempts");
      await writer.close();
    }
  });
});

describe("the dashboard in chromium", () => {
  it("shows a banner and greys the data while the backend is unreachable, and recovers without a reload", async () => {
    const url = withParams(redis.url, { namespace: randomId("ns"), sessionTimeout: SESSION_TIMEOUT });
    const seed = await connect(url, { memberId: "seed" });
    await seed.join("web", { createGroup: true });
    const dash = await open(url);
    const node = redis.nodes[0];
    if (!node) throw new Error("no redis node");
    try {
      await dash.page.waitForSelector('[data-group="web"] tr[data-member="seed"]', { timeout: 10_000 });
      expect(await dash.page.isHidden("#banner")).toBe(true);
      await node.stop();
      await dash.page.waitForSelector('#banner[data-state="stale"]', {
        timeout: SESSION_TIMEOUT + DETECTION_SLACK,
      });
      expect(await dash.page.getAttribute("#main", "data-live")).toBe("false");
      expect(await dash.page.textContent("#banner")).toMatch(/not live/);
      await node.start();
      await dash.page.waitForSelector("#banner", { state: "hidden", timeout: 20_000 });
      await dash.page.waitForSelector('#session[data-session="connected"]', { timeout: 5000 });
      expect(await dash.page.getAttribute("#main", "data-live")).toBe("true");
    } finally {
      await dash.close();
      await seed.close();
    }
  });

  it("renders hostile metadata and labels as text: no script runs, no element is injected", async () => {
    const url = `memory://${randomId("xss")}`;
    const hostile = await connect(url, { memberId: "evil-1" });
    const payloads = {
      img: '<img src=x onerror="window.__xss=1;alert(1)">',
      script: "<script>window.__xss=2</script>",
      svg: '<svg onload="window.__xss=3"></svg>',
      attr: '" onmouseover="window.__xss=4" x="',
      url: "javascript:window.__xss=5",
      controls: "a\u202Egnp.exe\u0000\u0007\u200Bz",
      long: "L".repeat(60_000),
    };
    await hostile.join("targets", { createGroup: true, metadata: payloads });
    const dash = await open(url, { label: '<img src=x onerror="window.__xss=6">' });
    const { page } = dash;
    try {
      const cell = '[data-group="targets"] tr[data-member="evil-1"] td.meta';
      await page.waitForSelector(cell, { timeout: 10_000 });
      await hostile.updateMetadata("targets", { ...payloads, again: "<b>bold</b>" });
      await page.waitForSelector('#timeline li[data-event="update"][data-member="evil-1"]', {
        timeout: 10_000,
      });
      const text = (await page.textContent(cell)) ?? "";
      expect(text).toContain('<img src=x onerror=\\"window.__xss=1;alert(1)\\">');
      expect(text).toContain("<script>window.__xss=2</script>");
      expect(text).toContain("\\u{202e}");
      // JSON escapes C0 controls itself; the page makes bidi and zero-width characters visible too.
      expect(text).toContain("\\u0000");
      expect(text).toContain("\\u{200b}");
      for (const raw of ["\u202e", "\u0000", "\u0007", "\u200b"]) expect(text.includes(raw)).toBe(false);
      expect(text.length).toBeLessThan(1000);
      expect(text).toMatch(/more\)$/);
      expect(await page.textContent("#server")).toContain('<img src=x onerror="window.__xss=6">');
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(await page.$$eval("main img, main script, main svg [onload], header img", (e) => e.length)).toBe(
        0,
      );
      expect(await page.$$eval("main b", (e) => e.length)).toBe(0);
      // Hover every cell: an injected handler attribute would fire now.
      await page.hover(cell);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await hostile.close();
    }
  });

  it("shows configuration stores live: a value set through the API appears, and each change goes first in the store's history", async () => {
    const url = `memory://${randomId("config")}`;
    const writer = await connect(url, { memberId: "writer" });
    const nova = writer.config("nova");
    const v1 = await nova.set("scheduler/max_attempts", 5);
    const dash = await open(url);
    const { page } = dash;
    const row = (key: string, version: bigint) =>
      `[data-config="nova"] tr[data-key="${key}"][data-version="${version}"]`;
    try {
      await page.waitForSelector(row("scheduler/max_attempts", v1), { timeout: 10_000 });
      expect(await page.isVisible("#configuration")).toBe(true);
      expect(await page.textContent(`${row("scheduler/max_attempts", v1)} td.value`)).toBe("5");
      expect(await page.textContent('[data-config="nova"] .history')).toContain("no changes since");

      const v2 = await nova.set("scheduler/max_attempts", 6);
      await page.waitForSelector(row("scheduler/max_attempts", v2), { timeout: 10_000 });
      expect(await page.textContent(`${row("scheduler/max_attempts", v2)} td.value`)).toBe("6");
      await page.waitForSelector(
        `[data-config="nova"] .history li[data-change="put"][data-key="scheduler/max_attempts"][data-version="${v2}"]`,
        { timeout: 5000 },
      );
      const v3 = await nova.set("api/limits", { rps: 100, note: '<img src=x onerror="window.__xss=7">' });
      await page.waitForSelector(row("api/limits", v3), { timeout: 10_000 });
      await nova.delete("api/limits");
      await page.waitForSelector(
        '[data-config="nova"] .history li[data-change="delete"][data-key="api/limits"]',
        {
          timeout: 10_000,
        },
      );
      await page.waitForSelector('[data-config="nova"] tr[data-key="api/limits"]', {
        state: "detached",
        timeout: 5000,
      });
      expect(await page.getAttribute('[data-config="nova"]', "data-size")).toBe("1");
      // Newest first.
      const history = await page.$$eval('[data-config="nova"] .history li[data-change]', (items) =>
        items.map(
          (li) =>
            `${li.getAttribute("data-change")} ${li.getAttribute("data-key")} ${li.getAttribute("data-version")}`,
        ),
      );
      expect(history).toEqual([
        "delete api/limits ",
        `put api/limits ${v3}`,
        `put scheduler/max_attempts ${v2}`,
      ]);
      expect(
        await page.textContent('[data-config="nova"] .history li[data-change="put"][data-key="api/limits"]'),
      ).toContain('<img src=x onerror=\\"window.__xss=7\\">');
      expect(await page.$$eval("main img", (e) => e.length)).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await writer.close();
    }
  });

  it("shows a braked reactor as a banner until it is released, then its failing handler's attempts and last error", async () => {
    // In-process members frozen (as SIGSTOP would): their sessions expire. Member ids are unique to this
    // test, as memorySessions addresses them across memory stores.
    const url = `memory://${randomId("react")}?sessionTimeout=500&retryInterval=50`;
    const prefix = randomId("rx");
    const opened: Coordinator[] = [];
    const frozen: string[] = [];
    const connectAs = async (id: string) => {
      const c = await connect(url, { memberId: id });
      opened.push(c);
      return c;
    };
    const admin = await connectAs(`${prefix}-admin`);
    await admin.createGroup("compute");
    for (let i = 0; i < 5; i++)
      await (await connectAs(`${prefix}-node${i}`)).join("compute", { metadata: { i } });
    const actor = await connectAs(`${prefix}-actor`);
    const hostile = '<img src=x onerror="window.__xss=8">';
    let runs = 0;
    const reactor = await actor.reactor(
      "compute",
      async (d) => {
        runs++;
        throw new Error(`cannot evacuate ${d.memberId}: no capacity ${hostile}`);
      },
      { brake: { fraction: 0.5, window: 3000 }, retry: { initial: 200, max: 400 } },
    );
    await eventually(() => reactor.state === "acting", 10_000, "the reactor to act");
    const dash = await open(url);
    const { page } = dash;
    const card = '#reactors [data-reactor="compute"]';
    try {
      await page.waitForSelector(`${card}[data-status="acting"][data-holder="${prefix}-actor"]`, {
        timeout: 10_000,
      });
      const token = await page.getAttribute(card, "data-token");
      expect(await page.getAttribute(`tr[data-election="reactor.compute"]`, "data-token")).toBe(token);
      expect(await page.isHidden("#reactor-banners")).toBe(true);
      expect(await page.textContent(`${card} tbody`)).toBe("nothing pending");

      for (const i of [0, 1, 2]) {
        memorySessions.freeze(`${prefix}-node${i}`);
        frozen.push(`${prefix}-node${i}`);
      }
      const banner = '#reactor-banners .reactor-banner[data-reactor="compute"]';
      await page.waitForSelector(banner, { timeout: 10_000 });
      expect(await page.textContent(banner)).toMatch(
        /^Reactor compute is BRAKED since \d\d:\d\d:\d\d\.\d{3} \(\d+s ago\): 3 of 5 members left at once; nothing is acted upon until released: rollcall react compute --release$/,
      );
      // The banner is the first thing under the header, above the groups.
      expect(
        await page.evaluate(() => {
          const b = document.querySelector("#reactor-banners");
          const main = document.querySelector("#main");
          return !!b && !!main && (b.compareDocumentPosition(main) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0;
        }),
      ).toBe(true);
      await page.waitForSelector(`${card}[data-status="braked"][data-pending="3"]`, { timeout: 5000 });
      await page.waitForSelector('#timeline li[data-event="reactor"][data-reactor-event="braked"]', {
        timeout: 5000,
      });
      expect(runs).toBe(0);

      expect(await releaseReactor(admin, "compute")).toBe(true);
      await page.waitForSelector("#reactor-banners", { state: "hidden", timeout: 10_000 });
      expect(await page.$$eval(banner, (e) => e.length)).toBe(0);
      // The handler keeps failing: each departure shows its failed runs and the last error, as text.
      const key = (await page.getAttribute(`${card} tr[data-member="${prefix}-node0"]`, "data-key")) ?? "";
      expect(key).toMatch(new RegExp(`^${prefix}-node0@\\d+$`));
      await page.waitForFunction(
        (row) => Number(document.querySelector(row)?.getAttribute("data-attempts")) >= 2,
        `${card} tr.failing[data-key="${key}"]`,
        { timeout: 10_000 },
      );
      expect(await page.textContent(`${card} tr[data-key="${key}"] td.error`)).toBe(
        `cannot evacuate ${prefix}-node0: no capacity ${hostile}`,
      );
      await page.waitForSelector(
        `#timeline li[data-event="reactor"][data-reactor-event="failed"][data-key="${key}"]`,
        { timeout: 5000 },
      );
      expect(await page.getAttribute(card, "data-status")).toBe("acting");
      expect(await page.$$eval("main img", (e) => e.length)).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await reactor.close();
      for (const id of frozen) memorySessions.thaw(id);
      await Promise.allSettled(opened.map((c) => c.close()));
    }
  });

  it("shows no configuration section on a backend without a configuration store", async () => {
    registerNoConfigBackend();
    const url = `noconfig://${randomId("none")}`;
    const seed = await connect(url, { memberId: "seed" });
    await seed.join("web", { createGroup: true });
    const dash = await open(url);
    try {
      await dash.page.waitForSelector('[data-group="web"] tr[data-member="seed"]', { timeout: 10_000 });
      expect(await dash.page.isHidden("#configuration")).toBe(true);
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await seed.close();
    }
  });

  it("keeps a big group usable: one page of rows in the DOM, paging and filtering", async () => {
    const url = `memory://${randomId("big")}?sessionTimeout=60000`;
    const size = 1500;
    const members: Coordinator[] = [];
    for (let i = 0; i < size; i++) {
      const c = await connect(url, { memberId: `node-${i}` });
      await c.join("big", { createGroup: true, metadata: { i } });
      members.push(c);
    }
    const dash = await open(url, { pageSize: 50 });
    const { page } = dash;
    try {
      await page.waitForSelector(`[data-group="big"][data-size="${size}"]`, { timeout: 15_000 });
      expect(await page.$$eval('[data-group="big"] tr[data-member]', (e) => e.length)).toBe(50);
      expect(await page.$$eval("tr[data-member]", (e) => e.length)).toBeLessThanOrEqual(50);
      await page.click('[data-group="big"] button[data-page="next"]');
      await page.waitForSelector('[data-group="big"] tr[data-member="node-50"]', { timeout: 5000 });
      await page.fill('[data-group="big"] input[type="search"]', "node-1499");
      await page.waitForSelector('[data-group="big"] tr[data-member="node-1499"]', { timeout: 5000 });
      expect(await page.$$eval('[data-group="big"] tr[data-member]', (e) => e.length)).toBe(1);
      // A departure arrives as a delta and the page follows it.
      await members.pop()?.close();
      await page.waitForSelector(`[data-group="big"][data-size="${size - 1}"]`, { timeout: 10_000 });
      // The page re-rendered for the leave; typing in the filter box was not interrupted.
      expect(
        await page.evaluate(() => document.activeElement?.matches('[data-group="big"] input[type="search"]')),
      ).toBe(true);
      await page.waitForSelector('[data-group="big"] tr[data-member="node-1499"]', {
        state: "detached",
        timeout: 5000,
      });
      expect(dash.errors).toEqual([]);
    } finally {
      await dash.close();
      await Promise.all(members.map((c) => c.close()));
    }
  });
});
