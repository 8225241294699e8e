import type { ConfigEntry, ConfigEvent, ConfigSnapshot, Coordinator, Json } from "@rollcall/core";
import { waitForMatch } from "./wait-for-match.js";

/** JSON with sorted keys, so values compare equal whatever order a backend returns their keys in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** `key@version=value` of each entry, sorted by key: what two reads of a store compare by. */
export function entryLines(entries: readonly Pick<ConfigEntry, "key" | "version" | "value">[]): string[] {
  return [...entries]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => `${e.key}@${e.version}=${canonicalJson(e.value)}`);
}

/** A compact form of a configuration event for failure messages. */
export function configSummary(event: ConfigEvent): string {
  switch (event.type) {
    case "snapshot":
      return `snapshot@${event.revision}[${entryLines(event.entries).join(" ")}]`;
    case "put":
      return `put ${event.entry.key}@${event.entry.version}=${canonicalJson(event.entry.value)}${event.resync ? " (resync)" : ""}`;
    default:
      return `delete ${event.key}@${event.revision}${event.resync ? " (resync)" : ""}`;
  }
}

/** Records a configuration watch's events and lets a test wait for one, or for convergence. */
export class ConfigRecorder {
  readonly events: ConfigEvent[] = [];
  private readonly controller = new AbortController();
  private readonly wakers = new Set<() => void>();
  readonly done: Promise<void>;
  failure: unknown;

  constructor(coord: Coordinator, store: string, prefix?: string) {
    const watch = coord.config(store).watch({
      signal: this.controller.signal,
      ...(prefix === undefined ? {} : { prefix }),
    });
    this.done = (async () => {
      try {
        for await (const event of watch) {
          this.events.push(event);
          this.wake();
        }
      } catch (error) {
        this.failure = error;
        this.wake();
      }
    })();
  }

  private wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Waits for an event matching `predicate` (already seen or future). */
  waitFor(predicate: (event: ConfigEvent) => boolean, timeout: number, what: string): Promise<ConfigEvent> {
    return waitForMatch(
      this.wakers,
      () => this.events.find(predicate),
      timeout,
      () => `no ${what} within ${timeout} ms; events: ${this.describe()}`,
      () => this.failure,
    );
  }

  /** The entries the events add up to: a snapshot replaces them, a put sets one, a delete removes one. */
  state(): Map<string, ConfigEntry> {
    const state = new Map<string, ConfigEntry>();
    for (const event of this.events) {
      if (event.type === "snapshot") {
        state.clear();
        for (const entry of event.entries) state.set(entry.key, entry);
      } else if (event.type === "put") state.set(event.entry.key, event.entry);
      else state.delete(event.key);
    }
    return state;
  }

  /**
   * Waits until the events add up to `expected` (same keys, values and versions), as they must once the
   * writers have stopped.
   */
  async converge(expected: ConfigSnapshot, timeout: number, what: string): Promise<void> {
    const want = entryLines(expected.entries).join("\n");
    await waitForMatch(
      this.wakers,
      () => (entryLines([...this.state().values()]).join("\n") === want ? true : undefined),
      timeout,
      () =>
        `${what}: the watch did not converge to entries() within ${timeout} ms\nexpected:\n${want}\nwatched:\n${entryLines([...this.state().values()]).join("\n")}\nevents: ${this.describe()}`,
      () => this.failure,
    );
  }

  /**
   * Every place where the events break the watch's order: a key's version (a put's version, a delete's
   * revision) not above the one before it, or a snapshot that brings back an older version of a key.
   */
  orderViolations(): string[] {
    const found: string[] = [];
    const last = new Map<string, { stamp: bigint; event: string }>();
    for (const [i, event] of this.events.entries()) {
      const at = `event ${i} (${configSummary(event)})`;
      if (event.type === "snapshot") {
        for (const entry of event.entries) {
          const before = last.get(entry.key);
          if (before && entry.version < before.stamp)
            found.push(`${at}: ${entry.key} back at version ${entry.version} after ${before.event}`);
          last.set(entry.key, { stamp: entry.version, event: at });
        }
        continue;
      }
      const key = event.type === "put" ? event.entry.key : event.key;
      const stamp = event.type === "put" ? event.entry.version : event.revision;
      const before = last.get(key);
      if (before && stamp <= before.stamp) found.push(`${at}: not after ${before.event}`);
      last.set(key, { stamp, event: at });
    }
    return found;
  }

  /** Every value of a put (resync puts excluded) in the order the watch delivered them. */
  puts(): { key: string; version: bigint; value: Json }[] {
    return this.events.flatMap((e) =>
      e.type === "put" && !e.resync
        ? [{ key: e.entry.key, version: e.entry.version, value: e.entry.value }]
        : [],
    );
  }

  /** The events, summarised, for failure messages (the last 200). */
  describe(): string {
    const shown = this.events.slice(-200).map(configSummary);
    return `${this.events.length > 200 ? `… ${this.events.length - 200} more, then ` : ""}${shown.join("; ")}`;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
