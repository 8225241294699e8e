import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MariaDBServer, startMariaDB } from "../src/index.js";
import { findUser, isRoot } from "../src/users.js";
import { processUid, waitUntil } from "./helpers.js";

describe("startMariaDB", () => {
  let server: MariaDBServer;

  beforeAll(async () => {
    server = await startMariaDB();
  });

  afterAll(async () => {
    await server.close();
  });

  async function query(sql: string): Promise<unknown> {
    const connection = await mysql.createConnection(server.connectionString);
    try {
      const [rows] = await connection.query(sql);
      return rows;
    } finally {
      await connection.end();
    }
  }

  it("serves the mysql2 client as root@127.0.0.1 in the rollcall database", async () => {
    const port = server.nodes[0]?.port;
    expect(server.url).toBe(`mysql://root@127.0.0.1:${port}/rollcall`);
    expect(server.database).toBe("rollcall");
    expect(await query("select database() as db, @@max_connections as max")).toEqual([
      { db: "rollcall", max: 300 },
    ]);
  });

  it("runs as the mysql user when started by root", () => {
    const pid = server.nodes[0]?.pid ?? 0;
    const expected = isRoot() ? findUser("mysql")?.uid : process.getuid?.();
    expect(processUid(pid)).toBe(expected);
  });

  it("stats() counts connected threads and the rows of every table of every user database", async () => {
    const before = await server.stats();
    expect(before.connections).toBe(0);
    expect(before.detail).toMatchObject({ nodes: 1, unreachable: 0 });
    const clients = [
      await mysql.createConnection(server.connectionString),
      await mysql.createConnection(server.connectionString),
    ];
    try {
      const [first, second] = clients as [mysql.Connection, mysql.Connection];
      await first.query("create table stats_t (v int) engine=InnoDB");
      await first.query("insert into stats_t values (1), (2), (3)");
      await second.query("create database stats_other");
      await second.query("create table stats_other.u (v int) engine=InnoDB");
      await second.query("insert into stats_other.u values (1), (2)");
      await second.query("create temporary table scratch (v int)");
      await second.query("insert into scratch values (1)");
      const during = await server.stats();
      expect(during.connections).toBe(2);
      expect(during.objects).toBe(before.objects + 5);
      expect(during.detail).toMatchObject({
        "rows:rollcall.stats_t": 3,
        "rows:stats_other.u": 2,
        databases: (before.detail.databases ?? 0) + 1,
        tables: (before.detail.tables ?? 0) + 2,
      });
      await first.query("delete from stats_t where v = 1");
      expect((await server.stats()).objects).toBe(before.objects + 4);
      await first.query("drop table stats_t");
      await first.query("drop database stats_other");
    } finally {
      for (const client of clients) await client.end();
    }
    await waitUntil("the connections gone", async () => (await server.stats()).connections === 0);
    expect((await server.stats()).objects).toBe(before.objects);
  });

  it("keeps its data across restart() and kill() + start()", async () => {
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    await query("create table kept (v varchar(20)) engine=InnoDB");
    await query("insert into kept values ('before')");
    await node.restart();
    expect(await query("select v from kept")).toEqual([{ v: "before" }]);
    await node.kill();
    await node.start();
    expect(await query("select v from kept")).toEqual([{ v: "before" }]);
  });
});
