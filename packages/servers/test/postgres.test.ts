import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../src/index.js";
import { findUser, isRoot } from "../src/users.js";
import { processUid } from "./helpers.js";

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
