import { connect, type MembershipEvent } from "@rollcall/core";
import type { Server } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/sql";
import type { Dialect } from "../src/options.js";
import { SqlDriver } from "../src/sql-driver.js";
import {
  type Databases,
  driverConfig,
  eventually,
  ListenerLog,
  randomId,
  startDatabases,
  withQuery,
} from "./helpers.js";

let dbs: Databases;
const drivers: SqlDriver[] = [];

beforeAll(async () => {
  dbs = await startDatabases();
}, 120_000);
afterAll(async () => {
  for (const server of [dbs?.postgres, dbs?.mariadb])
    for (const node of server?.nodes ?? []) if (node.paused) node.resume();
  await Promise.allSettled(drivers.map((d) => d.close()));
  await dbs?.close();
}, 60_000);

function server(dialect: Dialect): Server {
  return dialect === "postgresql" ? dbs.postgres : dbs.mariadb;
}

async function openDriver(dialect: Dialect, memberId: string, namespace: string, sessionTimeout: number) {
  const driver = new SqlDriver(dialect, driverConfig(dbs.urls[dialect], memberId, namespace, sessionTimeout));
  drivers.push(driver);
  const log = new ListenerLog();
  await driver.open(log, AbortSignal.timeout(10_000));
  return { driver, log };
}

describe.each(["postgresql", "mysql"] as Dialect[])("%s: losing the database", (dialect) => {
  it("a short outage suspends the session and resumes the same one: the member stays", async () => {
    const namespace = randomId("short");
    const { driver, log } = await openDriver(dialect, "a", namespace, 4000);
    await driver.createGroup("g");
    const joined = await driver.join("g", "a", {});
    const node = server(dialect).nodes[0]!;
    node.pause();
    try {
      await log.waitFor("suspended", 4000);
    } finally {
      node.resume();
    }
    await log.waitFor("connected", 4000);
    expect(log.states).toEqual(["suspended", "connected"]);
    const snapshot = await driver.members("g");
    expect(snapshot.members.map((m) => [m.id, m.seq])).toEqual([["a", joined.seq]]);
    const batch = await driver.changes("g", joined.seq);
    expect("events" in batch && batch.events).toEqual([]);
  }, 30_000);

  it("an outage past the session timeout suspends, then expires the session; back, the member re-joins", async () => {
    const url = withQuery(dbs.urls[dialect], {
      namespace: randomId("long"),
      sessionTimeout: 2000,
      retryInterval: 200,
    });
    const member = await connect(url, { memberId: "m" });
    const watcher = await connect(url, { memberId: "w" });
    await member.join("g", { createGroup: true });
    const states: string[] = [];
    member.on("session", (state) => states.push(state));
    const view = await watcher.view("g");
    const changes: MembershipEvent[] = [];
    view.on("change", (e) => changes.push(e));
    const node = server(dialect).nodes[0]!;
    node.pause();
    try {
      await eventually(() => states.includes("expired"), 10_000, "the session to expire");
    } finally {
      node.resume();
    }
    expect(states.slice(0, 2)).toEqual(["suspended", "expired"]);
    await eventually(() => member.state === "connected", 15_000, "a new session");
    await eventually(
      async () => (await watcher.members("g")).some((m) => m.id === "m"),
      15_000,
      "the member back",
    );
    await eventually(() => view.has("m"), 15_000, "the watcher's view to converge");
    await view.close();
    await member.close();
    await watcher.close();
  }, 60_000);
});

describe("postgresql: restarting the server", () => {
  it("members stay (or come back) and the LISTEN watcher keeps receiving changes", async () => {
    const url = withQuery(dbs.urls.postgresql, {
      namespace: randomId("restart"),
      sessionTimeout: 3000,
      retryInterval: 200,
    });
    const watcher = await connect(url, { memberId: "w" });
    await watcher.createGroup("g");
    const members = await Promise.all(["m1", "m2", "m3"].map((id) => connect(url, { memberId: id })));
    for (const m of members) await m.join("g");
    const view = await watcher.view("g");
    expect(view.size).toBe(3);
    await dbs.postgres.nodes[0]!.restart();
    await eventually(() => ["m1", "m2", "m3"].every((id) => view.has(id)), 15_000, "the members in the view");
    // A change after the restart arrives through the re-established LISTEN connection.
    const late = await connect(url, { memberId: "late" });
    await late.join("g");
    await eventually(() => view.has("late"), 10_000, "the late joiner pushed to the watcher");
    await late.close();
    await eventually(() => !view.has("late"), 10_000, "the late joiner's leave pushed to the watcher");
    await view.close();
    await Promise.all([...members, watcher].map((c) => c.close()));
  }, 60_000);
});
