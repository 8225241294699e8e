import pg from "pg";
import type { ServerCounter } from "./server-counter.js";

/** PostgreSQL's `pg_stat_database`: committed and rolled-back transactions of every database. */
export function postgresCounter(connectionString: string): ServerCounter {
  const client = new pg.Client({ connectionString, application_name: "rollcall-bench-counter" });
  client.on("error", () => {});
  let connected: Promise<void> | undefined;
  const ready = () => {
    connected ??= client.connect().then(() => undefined);
    return connected;
  };
  return {
    label: "transactions (pg_stat_database xact_commit + xact_rollback)",
    async read() {
      await ready();
      // Statistics are flushed by each backend at most once a second: ask for a fresh snapshot.
      await client.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await client.query<{ n: string }>(
        "SELECT sum(xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database",
      );
      return Number(rows[0]?.n ?? 0);
    },
    async version() {
      await ready();
      const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
      return rows[0]?.server_version ?? "unknown";
    },
    async close() {
      if (connected) await client.end().catch(() => {});
    },
  };
}
