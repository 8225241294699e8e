/** A feed several users share: ready once its first listing is in, stopped when the last lets go. */
export interface SharedFeed {
  readonly ready: Promise<void>;
  stop(): void;
}

/**
 * The shared feeds of a coordinator, by id, reference-counted: the first user creates a feed, every user
 * gets a lease, and the feed stops when the last lease is released (or when it fails to become ready).
 */
export class SharedFeeds<F extends SharedFeed> {
  private readonly entries = new Map<string, { feed: F; refs: number }>();

  /** Whether a feed with that id is running. */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * A lease on the feed `id` (made by `create` if there is none), once it is ready; a feed that cannot
   * become ready is released and its error, passed through `wrap`, rejects.
   */
  async acquire(
    id: string,
    create: () => F,
    wrap: (error: unknown) => unknown = (e) => e,
  ): Promise<{ feed: F; release(): void }> {
    let entry = this.entries.get(id);
    if (!entry) {
      const feed = create();
      entry = { feed, refs: 0 };
      this.entries.set(id, entry);
      feed.ready.catch(() => {
        if (this.entries.get(id)?.feed === feed) this.entries.delete(id);
      });
    }
    entry.refs++;
    const current = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      current.refs--;
      if (current.refs === 0) {
        current.feed.stop();
        if (this.entries.get(id) === current) this.entries.delete(id);
      }
    };
    try {
      await current.feed.ready;
    } catch (error) {
      release();
      throw wrap(error);
    }
    return { feed: current.feed, release };
  }

  /** Stops every feed (the coordinator is closing). */
  stopAll(): void {
    for (const { feed } of this.entries.values()) feed.stop();
    this.entries.clear();
  }
}
