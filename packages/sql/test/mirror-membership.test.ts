import { ChildMember } from "@rollcall/conformance";
import { connect, parseUrl } from "@rollcall/core";
import { mirrorMembership } from "@rollcall/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexConfig, sqliteFilename } from "../src/dialect.js";
import { acquireKnex } from "../src/knex-pool.js";
import type { Dialect } from "../src/options.js";
import { type Databases, DIALECTS, eventually, randomId, startDatabases, withQuery } from "./helpers.js";

let dbs: Databases;
const children: ChildMember[] = [];

beforeAll(async () => {
  dbs = await startDatabases();
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(children.map((c) => c.dispose()));
  await dbs?.close();
}, 60_000);

function appDatabase(dialect: Dialect) {
  const url = parseUrl(dbs.urls[dialect]);
  return acquireKnex(
    knexConfig(dialect, url, { poolSize: 2, ssl: false, connectTimeout: 5000 }),
    dialect === "sqlite" ? sqliteFilename(url) : undefined,
  );
}

describe.each(DIALECTS)("%s: mirrorMembership()", (dialect) => {
  it("keeps an application table's is_up column following joins, crashes and re-joins", async () => {
    const url = withQuery(dbs.urls[dialect], { namespace: randomId("mirror"), sessionTimeout: 2000 });
    const table = `services_${randomId("t").replace(/-/g, "_")}`;
    const app = appDatabase(dialect);
    const db = app.knex;
    // Nova's services table, reduced: the blueprint's "new column is_up".
    await db.schema.createTable(table, (t) => {
      t.string("host", 64).primary();
      t.string("topic", 32).notNullable();
      t.boolean("is_up").notNullable().defaultTo(false);
    });
    await db(table).insert([
      { host: "c1", topic: "compute", is_up: true },
      { host: "c2", topic: "compute", is_up: false },
      { host: "c3", topic: "compute", is_up: true },
      { host: "s1", topic: "scheduler", is_up: true },
    ]);
    const up = async () =>
      (await db(table).select("host", "is_up").orderBy("host"))
        .filter((r: { is_up: unknown }) => Boolean(Number(r.is_up)))
        .map((r: { host: string }) => r.host)
        .join(",");

    const observer = await connect(url, { memberId: "observer" });
    await observer.createGroup("compute");
    const view = await observer.view("compute");
    const errors: unknown[] = [];
    const mirror = await mirrorMembership(view, {
      knex: db,
      table,
      idColumn: "host",
      isUpColumn: "is_up",
      where: { topic: "compute" },
      onError: (e) => errors.push(e),
    });
    // Nobody has joined: every compute row is down; the scheduler row is outside `where`.
    expect(await up()).toBe("s1");

    const spawn = (id: string) => {
      const child = new ChildMember({ url, memberId: id, join: [{ group: "compute" }] });
      children.push(child);
      return child;
    };
    const c1 = spawn("c1");
    const c2 = spawn("c2");
    await Promise.all([c1.ready(15_000), c2.ready(15_000)]);
    await eventually(async () => (await up()) === "c1,c2,s1", 10_000, "c1 and c2 up");

    await c1.kill();
    await eventually(async () => (await up()) === "c2,s1", 10_000, "the crashed c1 down");

    const again = spawn("c1");
    await again.ready(15_000);
    await eventually(async () => (await up()) === "c1,c2,s1", 10_000, "c1 up again after re-joining");

    c2.close();
    await eventually(async () => (await up()) === "c1,s1", 10_000, "c2 down after closing");

    await mirror.flushed();
    await mirror.close();
    await view.close();
    await observer.close();
    await db.schema.dropTable(table);
    await app.release();
    expect(errors).toEqual([]);
  }, 60_000);
});
