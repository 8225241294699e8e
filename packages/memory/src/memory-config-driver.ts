import type {
  ConfigChange,
  ConfigDriver,
  ConfigListing,
  ConfigRecord,
  ConfigWatchListener,
  Json,
  WatchHandle,
} from "@rollcall/core/driver";
import type { MemoryConfigStores } from "./memory-config.js";

/** What the configuration driver needs of its {@link MemoryDriver}: the store and the fault gates. */
export interface MemoryConfigLink {
  readonly stores: MemoryConfigStores;
  readonly namespace: string;
  /** Resolves when a request can reach the "server"; rejects while disconnected or once closed. */
  request(): Promise<void>;
  /** Resolves when what the "server" sends can reach the client (not while frozen or disconnected). */
  reachable(): Promise<void>;
  /** Registers a watch to stop at close; returns its removal. */
  track(stop: () => void): () => void;
}

/** The memory backend's {@link ConfigDriver}: the in-process stores behind the same fault hooks as groups. */
export class MemoryConfigDriver implements ConfigDriver {
  constructor(private readonly link: MemoryConfigLink) {}

  async get(store: string, key: string): Promise<ConfigRecord | undefined> {
    await this.link.request();
    return this.link.stores.get(this.link.namespace, store, key);
  }

  async put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord> {
    await this.link.request();
    return this.link.stores.put(this.link.namespace, store, key, value, ifVersion);
  }

  async remove(store: string, key: string, ifVersion?: bigint): Promise<boolean> {
    await this.link.request();
    return this.link.stores.remove(this.link.namespace, store, key, ifVersion);
  }

  async list(store: string, prefix: string): Promise<ConfigListing> {
    await this.link.request();
    return this.link.stores.list(this.link.namespace, store, prefix);
  }

  async stores(): Promise<string[]> {
    await this.link.request();
    return this.link.stores.names(this.link.namespace);
  }

  async watch(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle> {
    await this.link.request();
    const pending: ConfigChange[] = [];
    let flushing = false;
    // Changes reach the client asynchronously, and not while it is frozen or disconnected.
    const deliver = (change: ConfigChange) => {
      const key = change.type === "put" ? change.entry.key : change.key;
      if (!key.startsWith(prefix)) return;
      pending.push(change);
      if (flushing) return;
      flushing = true;
      void (async () => {
        await Promise.resolve();
        await this.link.reachable();
        flushing = false;
        for (const c of pending.splice(0)) listener.change(c);
      })();
    };
    const unsubscribe = this.link.stores.subscribe(this.link.namespace, store, fromRevision, deliver);
    if (!unsubscribe) {
      queueMicrotask(() =>
        listener.resync("the change log no longer reaches back to the requested revision"),
      );
      return { close: async () => {} };
    }
    const untrack = this.link.track(unsubscribe);
    return {
      close: async () => {
        unsubscribe();
        untrack();
      },
    };
  }
}
