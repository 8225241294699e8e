import { type Member, parseStoredMetadata } from "@rollcall/core/driver";
import type { Dialect } from "./options.js";

/** A row as the drivers return it: numbers, strings (pg int8, mysql2 big numbers) or bigints. */
export type Row = Record<string, unknown>;

/** The rows of a `knex.raw()` result, whatever the driver. */
export function rowsOf(dialect: Dialect, result: unknown): Row[] {
  if (dialect === "postgresql") return ((result as { rows?: Row[] }).rows ?? []) as Row[];
  if (dialect === "mysql") {
    const first = (result as unknown[])[0];
    return Array.isArray(first) ? (first as Row[]) : [];
  }
  return Array.isArray(result) ? (result as Row[]) : [];
}

/** The number of rows a write statement of `knex.raw()` affected (MySQL: matched). */
export function affectedOf(dialect: Dialect, result: unknown): number {
  if (dialect === "postgresql") return (result as { rowCount?: number | null }).rowCount ?? 0;
  if (dialect === "mysql")
    return ((result as unknown[])[0] as { affectedRows?: number } | undefined)?.affectedRows ?? 0;
  if (Array.isArray(result)) return result.length;
  return (result as { changes?: number }).changes ?? 0;
}

/** An integer column as a bigint. */
export function big(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(Math.trunc(value));
  if (typeof value === "string" && value !== "") return BigInt(value.split(".")[0] ?? value);
  throw new TypeError(`expected an integer column, got ${typeof value}`);
}

/** A nullable integer column as a bigint. */
export function bigOrNull(value: unknown): bigint | null {
  return value === null || value === undefined ? null : big(value);
}

/** A millisecond timestamp column as a number. */
export function ms(value: unknown): number {
  return Number(big(value));
}

/** A member from a `members` (or `changes`) row. */
export function memberOf(group: string, row: Row): Member {
  return {
    id: String(row.member_id),
    group,
    metadata: parseStoredMetadata(String(row.metadata ?? "{}")),
    seq: big(row.seq),
    joinedAt: new Date(ms(row.joined_at)),
    updatedAt: new Date(ms(row.updated_at)),
  };
}
