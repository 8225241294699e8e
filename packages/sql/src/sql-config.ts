import type {
  ConfigChangeBatch,
  ConfigDriver,
  ConfigListing,
  ConfigRecord,
  Json,
  RollcallError,
} from "@rollcall/core/driver";
import type { SqlConfigStore } from "./config-store.js";

/** What the configuration store needs of its {@link SqlDriver}. */
export interface SqlConfigLink {
  /**
   * The statements, once the pool, the schema and the namespace row are ready — whatever the session's
   * state: entries belong to no session. Rejects with `NOT_CONNECTED` once the driver is closed.
   */
  store(): Promise<SqlConfigStore>;
  /** The driver's error for a failure: a `RollcallError` as it is, anything else `CONNECTION`, without secrets. */
  error(error: unknown): RollcallError;
}

/**
 * The SQL backend's {@link ConfigDriver} (see {@link SqlConfigStore} for the tables and statements). Works
 * whenever the database is reachable, even while the coordinator's session is suspended, expired or being
 * re-opened. Its change feed is core's, over {@link SqlConfig.changes}.
 */
export class SqlConfig implements ConfigDriver {
  constructor(private readonly link: SqlConfigLink) {}

  private async call<T>(operation: (store: SqlConfigStore) => Promise<T>): Promise<T> {
    try {
      return await operation(await this.link.store());
    } catch (error) {
      throw this.link.error(error);
    }
  }

  get(store: string, key: string): Promise<ConfigRecord | undefined> {
    return this.call((s) => s.get(store, key));
  }

  put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord> {
    return this.call((s) => s.put(store, key, value, ifVersion));
  }

  remove(store: string, key: string, ifVersion?: bigint): Promise<boolean> {
    return this.call((s) => s.remove(store, key, ifVersion));
  }

  list(store: string, prefix: string): Promise<ConfigListing> {
    return this.call((s) => s.list(store, prefix));
  }

  stores(): Promise<string[]> {
    return this.call((s) => s.stores());
  }

  /**
   * The changes of `store` under `prefix` after `sinceRevision`, from the configuration change log: core
   * reads it on the driver's change hints (NOTIFY on PostgreSQL) and, on MySQL and SQLite, every
   * `pollInterval`.
   */
  changes(store: string, prefix: string, sinceRevision: bigint): Promise<ConfigChangeBatch> {
    return this.call((s) => s.readChanges(store, prefix, sinceRevision));
  }
}
