import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../src/index.js";
import { findUser, isRoot } from "../src/users.js";
import { processUid, waitUntil } from "./helpers.js";

describe("startPostgres", () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await startPostgres();
  });

  afterAll(async () => {
    await server.close();
  });

  async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  it("serves the pg client as postgres@127.0.0.1/postgres with room for many sessions", async () => {
    const port = server.nodes[0]?.port;
    expect(server.url).toBe(`postgresql://postgres@127.0.0.1:${port}/postgres`);
    const [row] = await query<{ user: string; db: string; max: string }>(
      "select current_user as user, current_database() as db, current_setting('max_connections') as max",
    );
    expect(row).toEqual({ user: "postgres", db: "postgres", max: "300" });
  });

  it("runs as the postgres user when started by root", () => {
    const pid = server.nodes[0]?.pid ?? 0;
    const expected = isRoot() ? findUser("postgres")?.uid : process.getuid?.();
    expect(processUid(pid)).toBe(expected);
  });

  it("stats() counts client backends and the rows of every table of every database", async () => {
    const before = await server.stats();
    expect(before.connections).toBe(0);
    expect(before.detail).toMatchObject({ nodes: 1, unreachable: 0 });
    expect(before.detail["bytes:postgres"]).toBeGreaterThan(0);
    await query("create database stats_other");
    const clients = [
      new pg.Client({ connectionString: server.connectionString }),
      new pg.Client({ connectionString: server.connectionString.replace(/\/postgres$/, "/stats_other") }),
    ];
    try {
      for (const client of clients) await client.connect();
      const [main, other] = clients as [pg.Client, pg.Client];
      await main.query("create schema s; create table s.t (v int); insert into s.t values (1), (2), (3)");
      await other.query("create table u (v int); insert into u values (1), (2)");
      await other.query("create temporary table scratch (v int); insert into scratch values (1)");
      const during = await server.stats();
      expect(during.connections).toBe(2);
      expect(during.objects).toBe(before.objects + 5);
      expect(during.detail).toMatchObject({
        "rows:postgres.s.t": 3,
        "rows:stats_other.public.u": 2,
        databases: (before.detail.databases ?? 0) + 1,
        tables: (before.detail.tables ?? 0) + 2,
      });
      await main.query("delete from s.t where v = 1");
      expect((await server.stats()).objects).toBe(before.objects + 4);
    } finally {
      for (const client of clients) await client.end();
    }
    await waitUntil("the backends gone", async () => (await server.stats()).connections === 0);
    await query("drop schema s cascade");
    await query("drop database stats_other with (force)"); // stats() sessions may still be ending
    expect((await server.stats()).objects).toBe(before.objects);
  });

  it("keeps its data across restart() and kill() + start()", async () => {
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    await query("create table kept (v text); insert into kept values ('before')");
    await node.restart();
    expect(await query("select v from kept")).toEqual([{ v: "before" }]);
    // A crash: every backend dies too, and the server recovers its WAL on start.
    const held = new pg.Client({ connectionString: server.connectionString });
    await held.connect();
    held.on("error", () => {});
    await node.kill();
    await node.start();
    expect(await query("select v from kept")).toEqual([{ v: "before" }]);
    await held.end().catch(() => {});
  });
});
