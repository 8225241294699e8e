import { ChangeFollower, type FollowerOptions } from "./change-follower.js";
import { type ChangeHints, hintsAbout } from "./change-hints.js";
import {
  type ConfigChange,
  type ConfigDriver,
  type ConfigListing,
  type ConfigRecord,
  configHintTopic,
} from "./driver/config-driver.js";
import type { Session } from "./session.js";
import type { ConfigEntry, ConfigEvent } from "./types.js";

/** Settings of a {@link ConfigFeed}. */
export type ConfigFeedOptions = FollowerOptions;

function entryOf(record: ConfigRecord): ConfigEntry {
  return { key: record.key, value: record.value, version: record.version, updatedAt: record.updatedAt };
}

function byKey(a: ConfigEntry, b: ConfigEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * One configuration store's entries under a prefix, kept current from the driver's push watch or by
 * polling its change log (see {@link ChangeFollower}), shared by every watch iterator and view of a
 * coordinator on that store and prefix. A key's version never goes back; after lost continuity it
 * re-lists and reports the difference followed by a snapshot.
 */
export class ConfigFeed extends ChangeFollower<ConfigListing, ConfigChange, ConfigEvent> {
  private readonly current = new Map<string, ConfigEntry>();

  constructor(
    readonly name: string,
    readonly prefix: string,
    driver: ConfigDriver,
    session: Session,
    options: ConfigFeedOptions,
    /** The driver's change hints (`Driver.changeHints`), for a store read through `changes()`. */
    hints?: ChangeHints,
  ) {
    super(
      {
        list: () => driver.list(name, prefix),
        ...(driver.watch
          ? {
              watch: (from, listener) =>
                (driver.watch as NonNullable<ConfigDriver["watch"]>).call(
                  driver,
                  name,
                  prefix,
                  from,
                  listener,
                ),
            }
          : {}),
        ...(driver.changes
          ? {
              changes: (since) =>
                (driver.changes as NonNullable<ConfigDriver["changes"]>).call(driver, name, prefix, since),
            }
          : {}),
        ...hintsAbout(hints, configHintTopic(name)),
      },
      session,
      options,
      { config: name },
    );
    this.begin();
  }

  /** The revision the feed is current at. */
  get revision(): bigint {
    return this.seen < 0n ? 0n : this.seen;
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

  protected load(listing: ConfigListing): void {
    for (const record of listing.entries) this.current.set(record.key, entryOf(record));
  }

  protected applyChange(change: ConfigChange): void {
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

  protected reconcile(listing: ConfigListing): void {
    const next = new Map(listing.entries.map((r) => [r.key, entryOf(r)] as const));
    let revision = this.seen;
    if (listing.revision > revision) revision = listing.revision;
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
    this.seen = revision;
    this.emit(this.snapshot());
  }
}
