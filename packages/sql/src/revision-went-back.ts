/**
 * A reader's cursor is past the namespace's revision counter: the database lost changes it had committed
 * and shown (a server restarted without durable commits — PostgreSQL with `synchronous_commit=off`,
 * InnoDB with `innodb_flush_log_at_trx_commit` 0 or 2 — loses its last moments), and the revisions it
 * hands out next repeat ones readers have already seen. Returns the reason to resynchronise, or
 * `undefined` when the cursor is within the log.
 */
export function revisionWentBack(cursor: bigint, head: bigint): string | undefined {
  if (cursor <= head) return undefined;
  return `the namespace revision went back from ${cursor} to ${head}: the database lost committed changes (a restart without durable commits)`;
}
