import mysql from "mysql2/promise";
import type { ServerCounter } from "./server-counter.js";

/** MariaDB's `Questions` status variable: statements sent by clients. */
export function mariadbCounter(url: string): ServerCounter {
  let connection: Promise<mysql.Connection> | undefined;
  const ready = () => {
    connection ??= mysql.createConnection(url);
    return connection;
  };
  return {
    label: "statements (SHOW GLOBAL STATUS Questions)",
    async read() {
      const conn = await ready();
      const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'Questions'");
      const value = (rows as { Value: string }[])[0]?.Value;
      // This very statement is counted too.
      return Number(value ?? 0) - 1;
    },
    async version() {
      const conn = await ready();
      const [rows] = await conn.query("SELECT VERSION() AS v");
      return String((rows as { v: string }[])[0]?.v ?? "unknown");
    },
    async close() {
      if (connection) await (await connection).end().catch(() => {});
    },
  };
}
