/**
 * The last few `members()` snapshots per group, so that `watch(group, revision)` right after
 * `members(group)` starts from exactly that state (its member zxids and data versions) instead of
 * re-reading the group. Entries are taken once and expire after a minute.
 */
export class SnapshotCache<T> {
  private readonly groups = new Map<string, Map<bigint, { value: T; at: number }>>();

  constructor(
    private readonly perGroup = 4,
    private readonly ttl = 60_000,
  ) {}

  put(group: string, revision: bigint, value: T): void {
    let entries = this.groups.get(group);
    if (!entries) {
      entries = new Map();
      this.groups.set(group, entries);
    }
    entries.delete(revision);
    entries.set(revision, { value, at: performance.now() });
    for (const key of entries.keys()) {
      if (entries.size <= this.perGroup) break;
      entries.delete(key);
    }
  }

  /** The snapshot of `group` at `revision`, removed from the cache; `undefined` if absent or stale. */
  take(group: string, revision: bigint): T | undefined {
    const entries = this.groups.get(group);
    const entry = entries?.get(revision);
    if (!entries || !entry) return undefined;
    entries.delete(revision);
    if (entries.size === 0) this.groups.delete(group);
    return performance.now() - entry.at <= this.ttl ? entry.value : undefined;
  }

  clear(): void {
    this.groups.clear();
  }
}
