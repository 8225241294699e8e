import { readFileSync } from "node:fs";
import mysql from "mysql2/promise";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startMariaDB, startPostgres } from "../src/index.js";

/** A password with characters that need percent-encoding in URLs and escaping in SQL. */
const PASSWORD = `p@ss:w/rd'%"\\ ?#x`;

async function pgQuery<T extends pg.QueryResultRow>(connectionString: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function mysqlQuery(uri: string, sql: string): Promise<unknown> {
  const connection = await mysql.createConnection({ uri });
  try {
    const [rows] = await connection.query(sql);
    return rows;
  } finally {
    await connection.end();
  }
}

describe("startPostgres({ password })", () => {
  it("requires scram-sha-256 for every TCP client and puts the percent-encoded password in the URL", async () => {
    await using server = await startPostgres({ password: PASSWORD });
    const node = server.nodes[0]!;
    expect(server.password).toBe(PASSWORD);
    expect(server.url).toBe(
      `postgresql://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${node.port}/postgres`,
    );
    expect(server.connectionString).toBe(server.url);
    expect(new URL(server.url).password).toBe(encodeURIComponent(PASSWORD));

    const rules = await pgQuery<{ type: string; auth_method: string }>(
      server.url,
      "select type, auth_method from pg_hba_file_rules",
    );
    expect(rules.length).toBeGreaterThan(0);
    expect(new Set(rules.map((r) => r.auth_method))).toEqual(new Set(["scram-sha-256"]));
    const [stored] = await pgQuery<{ scram: boolean }>(
      server.url,
      "select rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname = 'postgres'",
    );
    expect(stored?.scram).toBe(true);

    const withoutPassword = `postgresql://postgres@127.0.0.1:${node.port}/postgres`;
    await expect(pgQuery(withoutPassword, "select 1")).rejects.toThrow(/password/);
    const wrong = `postgresql://postgres:wrong@127.0.0.1:${node.port}/postgres`;
    await expect(pgQuery(wrong, "select 1")).rejects.toThrow(/password authentication failed/);

    await node.restart();
    expect(await pgQuery(server.url, "select 1 as one")).toEqual([{ one: 1 }]);
    // stats() signs in with SCRAM too
    expect(await server.stats()).toMatchObject({ objects: 0, detail: { databases: 1, unreachable: 0 } });
    expect(readFileSync(node.logFile, "utf8")).not.toContain(PASSWORD);
  });
});

describe("startMariaDB({ password })", () => {
  it("gives root the password on every account and puts it in the URL", async () => {
    await using server = await startMariaDB({ password: PASSWORD });
    const node = server.nodes[0]!;
    expect(server.password).toBe(PASSWORD);
    expect(server.url).toBe(`mysql://root:${encodeURIComponent(PASSWORD)}@127.0.0.1:${node.port}/rollcall`);

    expect(await mysqlQuery(server.url, "select database() as d")).toEqual([{ d: "rollcall" }]);
    const withoutPassword = `mysql://root@127.0.0.1:${node.port}/rollcall`;
    await expect(mysqlQuery(withoutPassword, "select 1")).rejects.toThrow(/Access denied/);
    const wrong = `mysql://root:wrong@127.0.0.1:${node.port}/rollcall`;
    await expect(mysqlQuery(wrong, "select 1")).rejects.toThrow(/Access denied/);
    const accounts = (await mysqlQuery(
      server.url,
      "select host as h, authentication_string <> '' as has from mysql.user where user = 'root' and host in ('localhost', '127.0.0.1', '::1', '%')",
    )) as { h: string; has: number }[];
    expect(accounts.map((a) => a.h).sort()).toEqual(["%", "127.0.0.1", "::1", "localhost"]);
    expect(accounts.every((a) => a.has === 1)).toBe(true);

    await node.restart();
    expect(await mysqlQuery(server.url, "select 1 as one")).toEqual([{ one: 1 }]);
    expect(await server.stats()).toMatchObject({ objects: 0, detail: { databases: 1, unreachable: 0 } });
    expect(readFileSync(node.logFile, "utf8")).not.toContain(PASSWORD);
  });
});
