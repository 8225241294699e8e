import type { Logger } from "../types.js";

/** A small listener registry: listeners are called in order, and one that throws is logged, not propagated. */
export class Listeners<A extends unknown[]> {
  private readonly list: ((...args: A) => void)[] = [];

  add(listener: (...args: A) => void): void {
    this.list.push(listener);
  }

  remove(listener: (...args: A) => void): void {
    const index = this.list.indexOf(listener);
    if (index !== -1) this.list.splice(index, 1);
  }

  get size(): number {
    return this.list.length;
  }

  emit(logger: Logger, what: string, ...args: A): void {
    for (const listener of [...this.list]) {
      try {
        listener(...args);
      } catch (error) {
        logger.error(`a ${what} listener threw`, { error: String(error) });
      }
    }
  }
}
