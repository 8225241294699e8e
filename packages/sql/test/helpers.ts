import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMON_PARAMS, parseUrl } from "@rollcall/core";
import type { DriverConfig, Logger, SessionListener } from "@rollcall/core/driver";
import { type MariaDBServer, type PostgresServer, startMariaDB, startPostgres } from "@rollcall/servers";
import type { Dialect } from "../src/options.js";

export { eventually, randomId } from "@rollcall/conformance";

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A driver config as core would build it from `url` (common keys removed). */
export function driverConfig(
  url: string,
  memberId: string,
  namespace: string,
  sessionTimeout = 2000,
): DriverConfig {
  const parsed = parseUrl(url);
  for (const key of COMMON_PARAMS) parsed.params.delete(key);
  return { url: parsed, memberId, namespace, sessionTimeout, logger: silentLogger, maxMetadataBytes: 65_536 };
}

/** Records what a driver reports about its session. */
export class ListenerLog implements SessionListener {
  readonly states: string[] = [];
  readonly renewals: number[] = [];
  private readonly waiters = new Set<() => void>();

  state(state: "connected" | "suspended" | "expired"): void {
    this.states.push(state);
    for (const wake of [...this.waiters]) wake();
  }

  renewed(sentAt: number): void {
    this.renewals.push(sentAt);
  }

  /** Waits until `state` has been reported (at least `count` times). */
  waitFor(state: string, timeout: number, count = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.states.filter((s) => s === state).length >= count) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${state} within ${timeout} ms; states: ${this.states.join(",")}`));
      }, timeout);
      this.waiters.add(check);
      check();
    });
  }
}

/** PostgreSQL, MariaDB and a SQLite temp file, for tests that run on every dialect. */
export interface Databases {
  urls: Record<Dialect, string>;
  postgres: PostgresServer;
  mariadb: MariaDBServer;
  sqliteDir: string;
  close(): Promise<void>;
}

export async function startDatabases(): Promise<Databases> {
  const [postgres, mariadb] = await Promise.all([startPostgres(), startMariaDB()]);
  const sqliteDir = mkdtempSync(join(tmpdir(), "rollcall-sql-test-"));
  return {
    urls: { postgresql: postgres.url, mysql: mariadb.url, sqlite: `sqlite://${join(sqliteDir, "test.db")}` },
    postgres,
    mariadb,
    sqliteDir,
    async close() {
      await Promise.allSettled([postgres.close(), mariadb.close()]);
      rmSync(sqliteDir, { recursive: true, force: true });
    },
  };
}

/** Appends query parameters. */
export function withQuery(url: string, params: Record<string, string | number>): string {
  const query = new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return url.includes("?") ? `${url}&${query}` : `${url}?${query}`;
}

export const DIALECTS: Dialect[] = ["postgresql", "mysql", "sqlite"];
