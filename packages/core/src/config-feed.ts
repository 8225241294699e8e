import type { ConfigChange, ConfigDriver, ConfigListing, ConfigRecord } from "./driver/config-driver.js";
import type { WatchHandle } from "./driver/driver.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { delay } from "./internal/abort.js";
import { backoff } from "./internal/backoff.js";
import type { Session } from "./session.js";
import { errorText } from "./session.js";
import type { ConfigEntry, ConfigEvent, Logger } from "./types.js";

/** Settings of a {@link ConfigFeed}. */
export interface ConfigFeedOptions {
  pollInterval: number;
  retryInterval: number;
  logger: Logger;
}

function entryOf(record: ConfigRecord): ConfigEntry {
  return { key: record.key, value: record.value, version: record.version, updatedAt: record.updatedAt };
}

function byKey(a: ConfigEntry, b: ConfigEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * One configuration store's entries under a prefix, kept current from the driver's push watch or by
 * polling its change log, shared by every watch iterator and view of a coordinator on that store and
 * prefix. Changes apply in revision order; a key's version never goes back; after lost continuity
 * (driver resync, session re-opened) it re-lists and reports the difference followed by a snapshot.
 */
export class ConfigFeed {
  private readonly current = new Map<string, ConfigEntry>();
  private revisionSeen = -1n;
  private epoch = 0;
  private handle: WatchHandle | undefined;
  private stopped = false;
  private resyncing: Promise<void> | undefined;
  private readonly subscribers = new Set<(event: ConfigEvent) => void>();
  private readonly stopSession: () => void;
  /** Resolves when the first snapshot is in; rejects if it cannot be had. */
  readonly ready: Promise<void>;

  constructor(
    readonly name: string,
    readonly prefix: string,
    private readonly driver: ConfigDriver,
    private readonly session: Session,
    private readonly options: ConfigFeedOptions,
  ) {
    const onReopened = () => this.requestResync("the session was re-opened");
    session.reopened.add(onReopened);
    this.stopSession = () => session.reopened.remove(onReopened);
    this.ready = this.start();
    this.ready.catch(() => this.stop());
  }

  /** The revision the feed is current at. */
  get revision(): bigint {
    return this.revisionSeen < 0n ? 0n : this.revisionSeen;
  }

  /** The entries now, sorted by key. */
  entries(): ConfigEntry[] {
    return [...this.current.values()].sort(byKey);
  }

  /** The entry under `key`, if present. */
  get(key: string): ConfigEntry | undefined {
    return this.current.get(key);
  }

  /** How many entries are present. */
  get size(): number {
    return this.current.size;
  }

  /** The `snapshot` event of the current state. */
  snapshot(): ConfigEvent {
    return { type: "snapshot", config: this.name, entries: this.entries(), revision: this.revision };
  }

  /** Adds a subscriber; it gets every event from now on. Read {@link entries} first for the state. */
  subscribe(listener: (event: ConfigEvent) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private emit(event: ConfigEvent): void {
    for (const listener of [...this.subscribers]) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error("a configuration listener threw", {
          config: this.name,
          error: errorText(error),
        });
      }
    }
  }

  private async start(): Promise<void> {
    const listing = await this.driver.list(this.name, this.prefix);
    for (const record of listing.entries) this.current.set(record.key, entryOf(record));
    this.revisionSeen = listing.revision;
    await this.follow();
  }

  private async follow(): Promise<void> {
    const epoch = ++this.epoch;
    if (this.stopped) return;
    if (this.driver.watch) {
      const handle = await this.driver.watch(this.name, this.prefix, this.revisionSeen, {
        change: (change) => {
          if (epoch === this.epoch) this.apply(change);
        },
        resync: (reason) => {
          if (epoch === this.epoch) this.requestResync(reason);
        },
      });
      if (epoch !== this.epoch || this.stopped) {
        await handle.close();
        return;
      }
      this.handle = handle;
    } else if (this.driver.changes) {
      void this.pollLoop(epoch);
    } else {
      throw new RollcallError(
        "NOT_SUPPORTED",
        "the driver's configuration has neither watch() nor changes()",
      );
    }
  }

  private async pollLoop(epoch: number): Promise<void> {
    const changes = this.driver.changes?.bind(this.driver);
    if (!changes) return;
    let more = false;
    while (epoch === this.epoch && !this.stopped) {
      // A batch cut short is followed at once, so a busy store never falls behind the poll interval.
      if (!more) await delay(this.options.pollInterval);
      more = false;
      if (epoch !== this.epoch || this.stopped) return;
      if (this.session.state !== "connected") continue;
      try {
        const batch = await changes(this.name, this.prefix, this.revisionSeen);
        if (epoch !== this.epoch || this.stopped) return;
        if ("resync" in batch) {
          this.requestResync(batch.resync);
          return;
        }
        for (const change of batch.changes) this.apply(change);
        if (batch.revision > this.revisionSeen) this.revisionSeen = batch.revision;
        more = batch.more === true;
      } catch (error) {
        this.options.logger.debug("polling the configuration change log failed", {
          config: this.name,
          error: errorText(error),
        });
      }
    }
  }

  private apply(change: ConfigChange): void {
    if (change.revision <= this.revisionSeen) return;
    this.revisionSeen = change.revision;
    const key = change.type === "put" ? change.entry.key : change.key;
    if (!key.startsWith(this.prefix)) return;
    const existing = this.current.get(key);
    if (change.type === "delete") {
      if (existing === undefined || existing.version > change.revision) return;
      this.current.delete(key);
      this.emit({ type: "delete", config: this.name, key, revision: change.revision });
      return;
    }
    if (existing !== undefined && existing.version >= change.entry.version) return;
    const entry = entryOf(change.entry);
    this.current.set(key, entry);
    this.emit({ type: "put", config: this.name, entry });
  }

  /** Re-lists the entries, reports the difference and a snapshot, and follows from there. */
  requestResync(reason: string): void {
    if (this.stopped) return;
    this.options.logger.debug("resynchronising a configuration", { config: this.name, reason });
    this.epoch++;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) void handle.close().catch(() => {});
    if (this.resyncing) return;
    this.resyncing = this.resyncLoop().finally(() => {
      this.resyncing = undefined;
    });
  }

  private async resyncLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        await this.session.whenConnected();
      } catch {
        return;
      }
      let listing: ConfigListing;
      try {
        listing = await this.driver.list(this.name, this.prefix);
      } catch (error) {
        attempt++;
        this.options.logger.debug("re-listing a configuration failed; will retry", {
          config: this.name,
          error: errorText(error),
        });
        await delay(backoff(attempt - 1, { initial: 250, max: this.options.retryInterval })).catch(() => {});
        continue;
      }
      if (this.stopped) return;
      this.diffTo(listing);
      try {
        await this.follow();
        return;
      } catch (error) {
        attempt++;
        this.options.logger.debug("re-watching a configuration failed; will retry", {
          config: this.name,
          error: errorText(error),
        });
        await delay(backoff(attempt - 1, { initial: 250, max: this.options.retryInterval })).catch(() => {});
      }
    }
  }

  private diffTo(listing: ConfigListing): void {
    const next = new Map(listing.entries.map((r) => [r.key, entryOf(r)] as const));
    const revision = listing.revision > this.revisionSeen ? listing.revision : this.revisionSeen;
    for (const [key, existing] of this.current) {
      if (!next.has(key) && existing.version <= revision) {
        this.current.delete(key);
        this.emit({ type: "delete", config: this.name, key, revision, resync: true });
      }
    }
    for (const entry of [...next.values()].sort(byKey)) {
      const existing = this.current.get(entry.key);
      if (existing !== undefined && existing.version >= entry.version) continue;
      this.current.set(entry.key, entry);
      this.emit({ type: "put", config: this.name, entry, resync: true });
    }
    this.revisionSeen = revision;
    this.emit(this.snapshot());
  }

  /** Stops following. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.epoch++;
    this.stopSession();
    const handle = this.handle;
    this.handle = undefined;
    if (handle) void handle.close().catch(() => {});
  }
}
