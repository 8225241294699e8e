/**
 * A small Nova: compute services (separate processes) join `compute` with their capacity; two
 * schedulers campaign and the elected one places requests only on hosts that are up; the `is_up`
 * column of the application's own `services` table follows membership through @rollcall/sql's
 * write-back. Then a compute host crashes: the view, the placements and the table follow.
 *
 * Usage: node dist/nova/nova.js [membership-url] [app-db-url]
 * Defaults: the embedded SQLite default for both, in a temporary directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type GroupView } from "@rollcall/core";
import { mirrorMembership } from "@rollcall/sql";
import knex from "knex";
import { Scheduler } from "./scheduler.js";

const dir = mkdtempSync(join(tmpdir(), "rollcall-nova-"));
const url = process.argv[2] ?? `sqlite://${dir}/membership.db?sessionTimeout=2000`;
const appDb = process.argv[3] ?? `${dir}/nova.db`;
const hosts = ["compute-1", "compute-2", "compute-3"];
const log = (line: string) => console.log(line);

async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 30_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const app = knex({ client: "better-sqlite3", connection: { filename: appDb }, useNullAsDefault: true });
  await app.schema.dropTableIfExists("services");
  await app.schema.createTable("services", (t) => {
    t.string("host").primary();
    t.string("topic");
    t.boolean("is_up").notNullable().defaultTo(false);
  });
  await app("services").insert(hosts.map((host) => ({ host, topic: "compute", is_up: false })));

  const admin = await connect(url, { memberId: "nova-admin" });
  await admin.createGroup("compute").catch(() => {});
  await admin.close();
  const script = fileURLToPath(new URL("./compute-service.js", import.meta.url));
  const computes = new Map<string, ChildProcess>();
  hosts.forEach((host, i) => {
    computes.set(
      host,
      spawn(process.execPath, [script, url, host, String(8 * (i + 1)), String(32 * (i + 1))], {
        stdio: "inherit",
      }),
    );
  });

  const schedulers = await Promise.all(
    ["scheduler-1", "scheduler-2"].map((id) => connect(url, { memberId: id })),
  );
  const campaigns = schedulers.map((s, index) =>
    s
      .election("scheduler")
      .campaign()
      .then((leadership) => ({ leadership, index })),
  );
  const { leadership, index } = await Promise.race(campaigns);
  const active = schedulers[index] as (typeof schedulers)[number];
  log(`active scheduler: ${active.memberId} (fencing token ${leadership.token})`);
  const view: GroupView = await active.view("compute");
  const mirror = await mirrorMembership(view, {
    knex: app,
    table: "services",
    idColumn: "host",
    isUpColumn: "is_up",
    where: { topic: "compute" },
  });
  await until(() => hosts.every((h) => view.isUp(h)), "every compute host up");
  await mirror.flushed();
  const upRows = async () =>
    (await app("services").where({ is_up: true }).orderBy("host").select("host")).map(
      (r: { host: string }) => r.host,
    );
  log(`services.is_up: ${(await upRows()).join(", ")}`);

  const scheduler = new Scheduler(view, leadership);
  const before = Array.from({ length: 6 }, (_, i) => scheduler.place(`vm-${i}`, 2));
  for (const p of before) log(`placed ${p?.request} on ${p?.host} (token ${p?.fencingToken})`);

  log("compute-2 crashes (SIGKILL)");
  computes.get("compute-2")?.kill("SIGKILL");
  await until(() => !view.isUp("compute-2"), "compute-2 down in the view");
  await mirror.flushed();
  await until(async () => !(await upRows()).includes("compute-2"), "is_up of compute-2 cleared");
  log(`services.is_up: ${(await upRows()).join(", ")}`);
  const after = Array.from({ length: 6 }, (_, i) => scheduler.place(`vm-${6 + i}`, 2));
  for (const p of after) log(`placed ${p?.request} on ${p?.host} (token ${p?.fencingToken})`);

  const result = {
    upBefore: hosts,
    upAfter: await upRows(),
    placedAfterCrash: after.map((p) => p?.host),
  };
  log(`result ${JSON.stringify(result)}`);

  await mirror.close();
  await view.close();
  for (const s of schedulers) await s.close();
  await Promise.allSettled(campaigns);
  for (const [host, child] of computes) if (host !== "compute-2") child.kill("SIGTERM");
  await Promise.all(
    [...computes.values()].map((c) =>
      c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.on("exit", r)),
    ),
  );
  await app.destroy();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
