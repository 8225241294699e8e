import type {
  ConfigChangeBatch,
  ConfigDriver,
  ConfigListing,
  ConfigRecord,
  ConfigWatchListener,
  Json,
  Logger,
  RollcallError,
  WatchHandle,
} from "@rollcall/core/driver";
import { ConfigPushWatch } from "./config-push-watch.js";
import type { SqlConfigStore } from "./config-store.js";
import type { PushWatches } from "./push-watches.js";

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
 * re-opened. {@link PolledSqlConfig} (MySQL, SQLite) and {@link PushedSqlConfig} (PostgreSQL) add the
 * change feed.
 */
export class SqlConfig implements ConfigDriver {
  constructor(protected readonly link: SqlConfigLink) {}

  protected async call<T>(operation: (store: SqlConfigStore) => Promise<T>): Promise<T> {
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

  /** Ends what the store keeps running (push watches); the driver calls it when it closes. */
  async close(): Promise<void> {}
}

/** MySQL and SQLite: core polls {@link changes} every `pollInterval` (no `watch`, so core polls). */
export class PolledSqlConfig extends SqlConfig {
  /** The changes of `store` under `prefix` after `sinceRevision`, from the configuration change log. */
  changes(store: string, prefix: string, sinceRevision: bigint): Promise<ConfigChangeBatch> {
    return this.call((s) => s.readChanges(store, prefix, sinceRevision));
  }
}

/** Settings of {@link PushedSqlConfig}. */
export interface PushedSqlConfigOptions {
  /** See {@link ConfigPushWatchOptions.refresh}. */
  refresh: number;
  logger: Logger;
}

/**
 * PostgreSQL: push watches woken by the namespace's LISTEN/NOTIFY connection (shared with the group
 * watches), reading the configuration change log from their cursors.
 */
export class PushedSqlConfig extends SqlConfig {
  private readonly open = new Set<ConfigPushWatch>();

  constructor(
    link: SqlConfigLink,
    private readonly watches: PushWatches,
    private readonly options: PushedSqlConfigOptions,
  ) {
    super(link);
  }

  /** Every change of `store` under `prefix` after `fromRevision`; rejects if the LISTEN connection cannot be made. */
  async watch(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle> {
    const statements = await this.call(async (s) => {
      await this.watches.ensureListening();
      return s;
    });
    const watch = new ConfigPushWatch(
      store,
      fromRevision,
      listener,
      this.watches,
      (since) => this.call(() => statements.readChanges(store, prefix, since)),
      this.options,
      (closed) => this.open.delete(closed),
    );
    this.open.add(watch);
    watch.start();
    return watch;
  }

  override async close(): Promise<void> {
    await Promise.all([...this.open].map((watch) => watch.close()));
  }
}
