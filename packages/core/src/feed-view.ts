import { Listeners } from "./internal/listeners.js";
import type { Logger } from "./types.js";

/**
 * What every live view over a shared feed has in common (a group's, a configuration's): `change` listeners
 * fed by one subscription, `close()` that unsubscribes and releases the feed once, and the string forms.
 * @typeParam E the events the feed emits
 */
export abstract class FeedView<E> implements AsyncDisposable {
  private readonly changes = new Listeners<[E]>();
  private readonly unsubscribe: () => void;
  /** Set by {@link close}: reads answer as if empty from then on. */
  protected closed = false;

  constructor(
    feed: { subscribe(listener: (event: E) => void): () => void },
    private readonly release: () => void,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = feed.subscribe((event) => this.changes.emit(this.logger, "view change", event));
  }

  on(event: "change", listener: (event: E) => void): this {
    if (event === "change") this.changes.add(listener);
    return this;
  }

  off(event: "change", listener: (event: E) => void): this {
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

  abstract toString(): string;

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
