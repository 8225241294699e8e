import type { ConfigEvent, Coordinator, Logger } from "@rollcall/core";
import {
  type WireConfig,
  type WireConfigChange,
  type WireConfigEntry,
  type WireDelta,
  wireConfigEntry,
} from "./wire.js";

/** Reads a store through the dashboard's watch of it (one watch feeds the store's card and the follower). */
export interface ConfigFollower {
  /** An event of the store's watch: a snapshot first (and after every resync), then puts and deletes. */
  apply(event: ConfigEvent): void;
  /** The watch stopped (the store is no longer listed, or the watch ended): forget the store. */
  reset(): void;
}

/** What {@link ConfigWatches} is told at creation. */
export interface ConfigWatchSettings {
  /** Changes kept per store, newest first. */
  historyLength: number;
  /** Followers of particular stores, by store name. */
  followers: ReadonlyMap<string, ConfigFollower>;
  logger: Logger;
}

interface ConfigWatch {
  name: string;
  abort: AbortController;
  entries: Map<string, WireConfigEntry>;
  /** Newest first. */
  history: WireConfigChange[];
  /** Whether the page has been told about the store (after the watch's first snapshot). */
  announced: boolean;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function byKey(a: WireConfigEntry, b: WireConfigEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The configuration stores behind the dashboard: one `coord.config(name).watch()` per store that
 * `coord.configs()` lists, each store's entries as the watch keeps them, and the changes the watch
 * delivered since it started (newest first, at most `historyLength`). Deltas go to `broadcast`; the
 * events of a store with a follower (the reactors' store) go to it too.
 */
export class ConfigWatches {
  private readonly watches = new Map<string, ConfigWatch>();
  private closed = false;

  constructor(
    private readonly coord: Coordinator,
    private readonly settings: ConfigWatchSettings,
    private readonly broadcast: (delta: WireDelta) => void,
  ) {}

  /** How many stores are watched. */
  get size(): number {
    return this.watches.size;
  }

  /** The stores the page knows of, by name. */
  wire(): WireConfig[] {
    return [...this.watches.values()]
      .filter((w) => w.announced)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((w) => this.wireConfig(w));
  }

  /**
   * Follows the stores `names` (a listing of `coord.configs()`): stops watching the others, starts
   * watching the new ones, and resolves once each new one has its first snapshot (or failed).
   */
  async sync(names: string[]): Promise<void> {
    if (this.closed) return;
    const present = new Set(names);
    for (const [name, w] of this.watches) {
      if (present.has(name)) continue;
      this.stop(w);
    }
    await Promise.allSettled(names.filter((n) => !this.watches.has(n)).map((n) => this.open(n)));
  }

  /** Stops every watch. Idempotent. */
  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.abort.abort();
    this.watches.clear();
    for (const follower of this.settings.followers.values()) follower.reset();
  }

  private wireConfig(w: ConfigWatch): WireConfig {
    return { name: w.name, entries: [...w.entries.values()].sort(byKey), history: [...w.history] };
  }

  private stop(w: ConfigWatch): void {
    w.abort.abort();
    if (this.watches.get(w.name) !== w) return;
    this.watches.delete(w.name);
    if (w.announced) this.broadcast({ type: "config-removed", name: w.name });
    this.settings.followers.get(w.name)?.reset();
  }

  private open(name: string): Promise<void> {
    const w: ConfigWatch = {
      name,
      abort: new AbortController(),
      entries: new Map(),
      history: [],
      announced: false,
    };
    this.watches.set(name, w);
    return new Promise((ready) => {
      void (async () => {
        try {
          for await (const event of this.coord.config(name).watch({ signal: w.abort.signal })) {
            this.apply(w, event);
            this.follow(w.name, event);
            ready();
          }
        } catch (error) {
          this.settings.logger.debug("cannot watch a configuration", {
            config: name,
            error: errorText(error),
          });
        }
        ready();
        // Ended without being asked to (closed coordinator, failed watch): the next listing starts again.
        if (!w.abort.signal.aborted) this.stop(w);
      })();
    });
  }

  private apply(w: ConfigWatch, event: ConfigEvent): void {
    const at = Date.now();
    switch (event.type) {
      case "snapshot":
        w.entries = new Map(event.entries.map((e) => [e.key, wireConfigEntry(e)]));
        if (w.announced) {
          this.broadcast({
            type: "config-snapshot",
            at,
            name: w.name,
            entries: [...w.entries.values()].sort(byKey),
          });
        } else {
          w.announced = true;
          this.broadcast({ type: "config-added", config: this.wireConfig(w) });
        }
        return;
      case "put": {
        const entry = wireConfigEntry(event.entry);
        w.entries.set(entry.key, entry);
        this.remember(w, { at, kind: "put", ...entry, ...(event.resync ? { resync: true } : {}) });
        return;
      }
      case "delete":
        w.entries.delete(event.key);
        this.remember(w, {
          at,
          kind: "delete",
          key: event.key,
          revision: event.revision.toString(),
          ...(event.resync ? { resync: true } : {}),
        });
        return;
    }
  }

  private follow(name: string, event: ConfigEvent): void {
    const follower = this.settings.followers.get(name);
    if (!follower) return;
    try {
      follower.apply(event);
    } catch (error) {
      this.settings.logger.warn("a configuration follower failed", { config: name, error: errorText(error) });
    }
  }

  private remember(w: ConfigWatch, change: WireConfigChange): void {
    w.history.unshift(change);
    if (w.history.length > this.settings.historyLength) w.history.pop();
    if (w.announced) this.broadcast({ type: "config-change", name: w.name, change });
  }
}
