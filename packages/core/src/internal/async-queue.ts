/**
 * An unbounded push queue consumed as an async iterator. `end()` finishes it after the queued items;
 * `fail()` makes the next read throw.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly readers: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private done = false;
  private failure: { error: unknown } | undefined;
  private readonly onReturn: (() => void) | undefined;

  constructor(onReturn?: () => void) {
    this.onReturn = onReturn;
  }

  get ended(): boolean {
    return this.done;
  }

  push(item: T): void {
    if (this.done) return;
    const reader = this.readers.shift();
    if (reader) reader.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.items.length === 0) this.flushReaders();
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.failure = { error };
    this.done = true;
    if (this.items.length === 0) this.flushReaders();
  }

  private flushReaders(): void {
    for (const reader of this.readers.splice(0)) {
      if (this.failure) reader.reject(this.failure.error);
      else reader.resolve({ value: undefined, done: true });
    }
    this.failure = undefined;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.done) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.failure = undefined;
    if (!this.done) {
      this.done = true;
      this.flushReaders();
    }
    this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
