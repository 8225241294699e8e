import pg from "pg";
import { ChildAgent } from "../agents/child-agent.js";
import { randomId } from "../clock.js";
import { NOVA_AGENT } from "../paths.js";
import type { Scope } from "./scope.js";

/**
 * Creates a fresh copy of Nova's `services` table (the columns the servicegroup driver reads and
 * writes) with one `nova-compute` row per host, and returns its name and the rows' ids.
 */
export async function createServicesTable(
  connectionString: string,
  count: number,
): Promise<{ table: string; ids: number[]; hosts: string[] }> {
  const table = `nova_services_${randomId()}`;
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ${table} (
      id serial PRIMARY KEY,
      host varchar(255),
      "binary" varchar(255),
      topic varchar(255),
      report_count integer NOT NULL DEFAULT 0,
      disabled boolean DEFAULT false,
      disabled_reason varchar(255),
      forced_down boolean DEFAULT false,
      version integer DEFAULT 0,
      uuid varchar(36),
      created_at timestamp with time zone,
      updated_at timestamp with time zone,
      deleted_at timestamp with time zone,
      deleted integer DEFAULT 0,
      UNIQUE (host, "binary", deleted)
    )`);
    const { rows } = await client.query<{ id: number; host: string }>(
      `INSERT INTO ${table} (host, "binary", topic, created_at, updated_at, uuid)
       SELECT 'compute-' || g, 'nova-compute', 'compute', now(), now(), gen_random_uuid()::text
       FROM generate_series(1, $1) AS g RETURNING id, host`,
      [count],
    );
    return { table, ids: rows.map((r) => r.id), hosts: rows.map((r) => r.host) };
  } finally {
    await client.end();
  }
}

/** Starts a Nova peer process (services or a consumer). */
export async function startNovaAgent(scope: Scope, label: string): Promise<ChildAgent> {
  return scope.track(
    await ChildAgent.start({ label: `nova:${label}`, command: process.execPath, args: [NOVA_AGENT] }),
  );
}
