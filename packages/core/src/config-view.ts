import type { ConfigView } from "./api.js";
import type { ConfigFeed } from "./config-feed.js";
import { FeedView } from "./feed-view.js";
import type { ConfigEntry, ConfigEvent, Json, Logger } from "./types.js";

/** A {@link ConfigView} over a coordinator's shared {@link ConfigFeed}. */
export class FeedConfigView extends FeedView<ConfigEvent> implements ConfigView {
  constructor(
    private readonly feed: ConfigFeed,
    release: () => void,
    logger: Logger,
  ) {
    super(feed, release, logger);
  }

  get name(): string {
    return this.feed.name;
  }

  get prefix(): string {
    return this.feed.prefix;
  }

  get size(): number {
    return this.closed ? 0 : this.feed.size;
  }

  get revision(): bigint {
    return this.feed.revision;
  }

  get(key: string): ConfigEntry | undefined {
    return this.closed ? undefined : this.feed.get(key);
  }

  value<T extends Json = Json>(key: string, fallback?: T): T | undefined {
    const entry = this.get(key);
    return entry === undefined ? fallback : (entry.value as T);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  entries(): ConfigEntry[] {
    return this.closed ? [] : this.feed.entries();
  }

  toString(): string {
    return `ConfigView(${this.name}${this.prefix ? ` ${this.prefix}*` : ""}, ${this.size} entries)`;
  }
}
