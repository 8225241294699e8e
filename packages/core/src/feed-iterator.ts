import type { GroupFeed } from "./group-feed.js";
import { AsyncQueue } from "./internal/async-queue.js";
import type { MembershipEvent } from "./types.js";

/** What an iterator needs of a shared feed (a group's, a configuration's): readiness and events. */
export interface Feed<E> {
  readonly ready: Promise<void>;
  subscribe(listener: (event: E) => void): () => void;
}

/** A lease on a shared feed. */
export interface FeedLease<F = GroupFeed> {
  feed: F;
  release(): void;
}

/**
 * An async iterable over a shared feed: `first` produces what to yield once the feed is ready (e.g. a
 * snapshot), `next` maps each later event to what to yield (or `undefined` to skip it). Iteration ends
 * on `signal`, `break` or `return()`, releasing the feed; a feed that cannot be had fails the first
 * `next()`.
 */
export function feedIterable<T, E = MembershipEvent, F extends Feed<E> = GroupFeed & Feed<E>>(
  acquire: () => Promise<FeedLease<F>>,
  signal: AbortSignal | undefined,
  first: (feed: F) => T,
  next: (feed: F, event: E) => T | undefined,
): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let release: (() => void) | undefined;
      let unsubscribe: (() => void) | undefined;
      const cleanup = () => {
        unsubscribe?.();
        release?.();
        unsubscribe = undefined;
        release = undefined;
        signal?.removeEventListener("abort", onAbort);
      };
      const queue = new AsyncQueue<T>(cleanup);
      const onAbort = () => {
        cleanup();
        queue.end();
      };
      if (signal?.aborted) {
        queue.end();
        return queue;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      acquire().then(
        async (lease) => {
          release = lease.release;
          if (queue.ended) {
            cleanup();
            return;
          }
          await lease.feed.ready;
          queue.push(first(lease.feed));
          unsubscribe = lease.feed.subscribe((event) => {
            const value = next(lease.feed, event);
            if (value !== undefined) queue.push(value);
          });
        },
        (error: unknown) => {
          cleanup();
          queue.fail(error);
        },
      );
      return queue;
    },
  };
}
