import type {
  ConfigReadOptions,
  Configuration,
  ConfigView,
  ConfigWatchOptions,
  ConfigWriteOptions,
} from "./api.js";
import type { ChangeHints } from "./change-hints.js";
import { ConfigFeed, type ConfigFeedOptions } from "./config-feed.js";
import { FeedConfigView } from "./config-view.js";
import type { ConfigDriver, ConfigRecord } from "./driver/config-driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { type FeedLease, feedIterable } from "./feed-iterator.js";
import type { SharedFeeds } from "./internal/shared-feeds.js";
import type { Session } from "./session.js";
import type { ConfigEntry, ConfigEvent, ConfigSnapshot, Json } from "./types.js";
import {
  validateConfigKey,
  validateConfigPrefix,
  validateConfigValue,
  validateIfVersion,
  validateOptions,
  validateSignal,
} from "./validation.js";

/** What a {@link CoordinatorConfiguration} needs of its coordinator. */
export interface ConfigurationContext {
  readonly driver: ConfigDriver;
  readonly session: Session;
  /** The driver's change hints, if it gives any (`Driver.changeHints`). */
  readonly hints?: ChangeHints;
  readonly feedOptions: ConfigFeedOptions;
  readonly maxValueBytes: number;
  /** Throws `NOT_CONNECTED` once the coordinator is closed. */
  assertOpen(): void;
  /** Runs a driver call, wrapping foreign errors as `CONNECTION` (naming the redacted URL). */
  run<T>(what: string, operation: () => Promise<T>, key?: string): Promise<T>;
  /** The shared feeds of the coordinator, by store and prefix. */
  readonly configFeeds: SharedFeeds<ConfigFeed>;
}

function entryOf(record: ConfigRecord): ConfigEntry {
  return { key: record.key, value: record.value, version: record.version, updatedAt: record.updatedAt };
}

/** The one implementation of {@link Configuration}, over a driver's {@link ConfigDriver}. */
export class CoordinatorConfiguration implements Configuration {
  constructor(
    readonly name: string,
    private readonly context: ConfigurationContext,
  ) {}

  async get(key: string): Promise<ConfigEntry | undefined> {
    validateConfigKey(key);
    const record = await this.context.run("config get", () => this.context.driver.get(this.name, key), key);
    return record === undefined ? undefined : entryOf(record);
  }

  async set(key: string, value: Json, options?: ConfigWriteOptions): Promise<bigint> {
    validateConfigKey(key);
    validateOptions("set options", options);
    const ifVersion = validateIfVersion(options?.ifVersion, true);
    const checked = validateConfigValue(value, this.context.maxValueBytes);
    const record = await this.context.run(
      "config set",
      () => this.context.driver.put(this.name, key, checked, ifVersion),
      key,
    );
    return record.version;
  }

  async delete(key: string, options?: ConfigWriteOptions): Promise<boolean> {
    validateConfigKey(key);
    validateOptions("delete options", options);
    const ifVersion = validateIfVersion(options?.ifVersion, false);
    return this.context.run(
      "config delete",
      () => this.context.driver.remove(this.name, key, ifVersion),
      key,
    );
  }

  async entries(options?: ConfigReadOptions): Promise<ConfigSnapshot> {
    validateOptions("entries options", options);
    const prefix = validateConfigPrefix(options?.prefix);
    const listing = await this.context.run("config entries", () =>
      this.context.driver.list(this.name, prefix),
    );
    const entries = listing.entries
      .filter((r) => r.key.startsWith(prefix))
      .map(entryOf)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { entries, revision: listing.revision };
  }

  watch(options?: ConfigWatchOptions): AsyncIterable<ConfigEvent> {
    validateOptions("watch options", options);
    const prefix = validateConfigPrefix(options?.prefix);
    const signal = validateSignal("signal", options?.signal);
    this.context.assertOpen();
    return feedIterable<ConfigEvent, ConfigEvent, ConfigFeed>(
      () => this.acquireFeed(prefix),
      signal,
      (feed) => feed.snapshot(),
      (_feed, event) => event,
    );
  }

  async view(options?: ConfigReadOptions): Promise<ConfigView> {
    validateOptions("view options", options);
    const prefix = validateConfigPrefix(options?.prefix);
    const lease = await this.acquireFeed(prefix);
    return new FeedConfigView(lease.feed, lease.release, this.context.feedOptions.logger);
  }

  /** A shared feed of this store under `prefix`, released when the last user lets go. */
  private async acquireFeed(prefix: string): Promise<FeedLease<ConfigFeed>> {
    this.context.assertOpen();
    const { driver, session, feedOptions, hints } = this.context;
    return this.context.run("config watch", () =>
      this.context.configFeeds.acquire(
        `${this.name}\u0000${prefix}`,
        () => new ConfigFeed(this.name, prefix, driver, session, feedOptions, hints),
      ),
    );
  }

  toString(): string {
    return `Configuration(${this.name})`;
  }

  toJSON(): string {
    return this.toString();
  }

  // Inspecting must not reach the driver (and its credentials) through the context.
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** `NOT_SUPPORTED`: the backend has no configuration store. */
export function configNotSupported(backend: string): RollcallError {
  return new RollcallError(
    "NOT_SUPPORTED",
    `the ${backend} backend has no configuration store (characteristics.config is "none")`,
  );
}
