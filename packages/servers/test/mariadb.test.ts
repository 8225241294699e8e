import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MariaDBServer, startMariaDB } from "../src/index.js";
import { findUser, isRoot } from "../src/users.js";
import { processUid } from "./helpers.js";

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
