import {
  type ConfigChange,
  type ConfigListing,
  type ConfigRecord,
  type Json,
  versionMismatch,
} from "@rollcall/core/driver";

/** How many changes each store keeps for watches that resume from a revision. */
export const CONFIG_LOG_RETENTION = 10_000;

interface StoredConfig {
  entries: Map<string, ConfigRecord>;
  log: ConfigChange[];
  listeners: Set<(change: ConfigChange) => void>;
}

function copy(record: ConfigRecord): ConfigRecord {
  return { ...record, value: structuredClone(record.value), updatedAt: new Date(record.updatedAt) };
}

/**
 * The configuration stores of one `memory://name`: entries that belong to no session, versioned by one
 * revision counter (so a key's version grows across a delete and a re-create), with a change log per
 * store for watches. Shared by every coordinator of the process that uses the same name.
 */
export class MemoryConfigStores {
  private readonly stores = new Map<string, StoredConfig>();
  private revision = 0n;

  private id(namespace: string, store: string): string {
    return `${namespace}\u0000${store}`;
  }

  private store(namespace: string, store: string): StoredConfig {
    const id = this.id(namespace, store);
    let found = this.stores.get(id);
    if (!found) {
      found = { entries: new Map(), log: [], listeners: new Set() };
      this.stores.set(id, found);
    }
    return found;
  }

  private append(stored: StoredConfig, change: ConfigChange): void {
    stored.log.push(change);
    if (stored.log.length > CONFIG_LOG_RETENTION)
      stored.log.splice(0, stored.log.length - CONFIG_LOG_RETENTION);
    for (const listener of [...stored.listeners]) listener(change);
  }

  get(namespace: string, store: string, key: string): ConfigRecord | undefined {
    const record = this.stores.get(this.id(namespace, store))?.entries.get(key);
    return record === undefined ? undefined : copy(record);
  }

  put(namespace: string, store: string, key: string, value: Json, ifVersion?: bigint): ConfigRecord {
    const stored = this.store(namespace, store);
    const existing = stored.entries.get(key);
    if (ifVersion !== undefined && (existing?.version ?? 0n) !== ifVersion) {
      throw versionMismatch(store, key, ifVersion, existing?.version);
    }
    const revision = ++this.revision;
    const record: ConfigRecord = {
      key,
      value: structuredClone(value),
      version: revision,
      updatedAt: new Date(),
    };
    stored.entries.set(key, record);
    this.append(stored, { type: "put", entry: copy(record), revision });
    return copy(record);
  }

  remove(namespace: string, store: string, key: string, ifVersion?: bigint): boolean {
    const stored = this.stores.get(this.id(namespace, store));
    const existing = stored?.entries.get(key);
    if (ifVersion !== undefined && existing?.version !== ifVersion) {
      throw versionMismatch(store, key, ifVersion, existing?.version);
    }
    if (stored === undefined || existing === undefined) return false;
    stored.entries.delete(key);
    this.append(stored, { type: "delete", key, revision: ++this.revision });
    return true;
  }

  list(namespace: string, store: string, prefix: string): ConfigListing {
    const stored = this.stores.get(this.id(namespace, store));
    const entries = [...(stored?.entries.values() ?? [])].filter((r) => r.key.startsWith(prefix)).map(copy);
    return { entries, revision: this.revision };
  }

  names(namespace: string): string[] {
    const prefix = `${namespace}\u0000`;
    return [...this.stores]
      .filter(([id, stored]) => id.startsWith(prefix) && stored.entries.size > 0)
      .map(([id]) => id.slice(prefix.length));
  }

  /**
   * Delivers every change after `fromRevision`, then live ones. Returns `undefined` when the log no
   * longer reaches back that far (the caller must re-list).
   */
  subscribe(
    namespace: string,
    store: string,
    fromRevision: bigint,
    listener: (change: ConfigChange) => void,
  ): (() => void) | undefined {
    const stored = this.store(namespace, store);
    const oldest = stored.log[0];
    if (
      oldest !== undefined &&
      oldest.revision > fromRevision + 1n &&
      stored.log.length >= CONFIG_LOG_RETENTION
    )
      return undefined;
    for (const change of stored.log) if (change.revision > fromRevision) listener(change);
    stored.listeners.add(listener);
    return () => stored.listeners.delete(listener);
  }
}
