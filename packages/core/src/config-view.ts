import type { ConfigView } from "./api.js";
import type { ConfigFeed } from "./config-feed.js";
import { Listeners } from "./internal/listeners.js";
import type { ConfigEntry, ConfigEvent, Json, Logger } from "./types.js";

/** A {@link ConfigView} over a coordinator's shared {@link ConfigFeed}. */
export class FeedConfigView implements ConfigView {
  private readonly changes = new Listeners<[ConfigEvent]>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly feed: ConfigFeed,
    private readonly release: () => void,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = feed.subscribe((event) =>
      this.changes.emit(this.logger, "configuration view change", event),
    );
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

  on(event: "change", listener: (event: ConfigEvent) => void): this {
    if (event === "change") this.changes.add(listener);
    return this;
  }

  off(event: "change", listener: (event: ConfigEvent) => void): this {
    if (event === "change") this.changes.remove(listener);
    return this;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `ConfigView(${this.name}${this.prefix ? ` ${this.prefix}*` : ""}, ${this.size} entries)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
