import { randomBytes } from "node:crypto";
import {
  type ConfigChange,
  type ConfigDriver,
  type ConfigListing,
  type ConfigRecord,
  type ConfigWatchListener,
  type Json,
  versionMismatch,
  type WatchHandle,
} from "@rollcall/core/driver";
import type { Etcd3, ICompare, IEvent, IRequestOp, ITxnResponse } from "etcd3";
import { decodeConfigRecord, encodeConfigValue } from "./config-record.js";
import type { KeyLayout } from "./keys.js";
import { rangeKvs } from "./member-record.js";
import type { RangeWatchListener } from "./range-watch.js";

/** Keys per page when {@link EtcdConfigStore.stores} scans for store names. */
const STORE_SCAN_PAGE = 1000;

/** What the configuration store needs of its {@link EtcdDriver}: its client, retries, transactions and watches. */
export interface EtcdConfigLink {
  readonly keys: KeyLayout;
  /**
   * Runs `op` (attempts numbered from 1), retrying transient failures on another host; needs no session.
   * Rejects with `NOT_CONNECTED` once the driver is closed.
   */
  withRetry<T>(op: (client: Etcd3, attempt: number) => Promise<T>): Promise<T>;
  /** One transaction, with the driver's deadline. */
  txn(
    client: Etcd3,
    request: { compare: ICompare[]; success: IRequestOp[]; failure: IRequestOp[] },
  ): Promise<ITxnResponse>;
  /**
   * A resuming watch on a key range from `startRevision` (see `RangeWatch`), closed with the driver and
   * recycled with its other watches; resolves once etcd has created it.
   */
  watchRange(
    range: { key: Buffer; rangeEnd: Buffer },
    startRevision: bigint,
    listener: RangeWatchListener,
  ): Promise<WatchHandle>;
}

/**
 * The etcd backend's {@link ConfigDriver}: an entry is a key without a lease under
 * `ns/@config/<store>/<key>`, its version the key's `mod_revision` (which grows over the whole
 * keyspace, so also across a delete and a re-create); a compare-and-set is one transaction comparing
 * `mod_revision` (`version == 0` for "only if absent"); a listing is one range read at the header's
 * revision; a watch is a prefix watch from the next revision, resynchronised when etcd has compacted it.
 * Durable as far as etcd's data directory is.
 */
export class EtcdConfigStore implements ConfigDriver {
  constructor(private readonly link: EtcdConfigLink) {}

  async get(store: string, key: string): Promise<ConfigRecord | undefined> {
    const entry = this.link.keys.configEntry(store, key);
    const res = await this.link.withRetry((client) => client.kv.range({ key: entry }));
    const kv = res.kvs[0];
    return kv === undefined ? undefined : decodeConfigRecord(key, kv);
  }

  async put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord> {
    const entry = this.link.keys.configEntry(store, key);
    const updatedAt = Date.now();
    const bytes = encodeConfigValue(value, updatedAt, randomBytes(12).toString("base64url"));
    const compare: ICompare[] =
      ifVersion === undefined
        ? []
        : ifVersion === 0n
          ? [{ key: entry, target: "Version", result: "Equal", version: 0 }]
          : [{ key: entry, target: "Mod", result: "Equal", mod_revision: ifVersion.toString() }];
    return this.link.withRetry(async (client, attempt) => {
      const res = await this.link.txn(client, {
        compare,
        success: [
          { request_put: { key: entry, value: bytes } },
          { request_range: { key: entry, keys_only: true } },
        ],
        // A retry needs the value, to recognise its own earlier attempt; a first attempt only the version.
        failure: [{ request_range: { key: entry, keys_only: attempt === 1 } }],
      });
      if (res.succeeded) {
        const written = rangeKvs(res, 1)[0];
        if (written === undefined) throw new Error("etcd returned no record for the entry just written");
        return { key, value, version: BigInt(written.mod_revision), updatedAt: new Date(updatedAt) };
      }
      const found = rangeKvs(res, 0)[0];
      // An earlier attempt whose answer was lost was applied: the key holds our write (its writeId).
      if (attempt > 1 && found !== undefined && found.value.equals(bytes))
        return decodeConfigRecord(key, found);
      throw versionMismatch(
        store,
        key,
        ifVersion ?? 0n,
        found === undefined ? undefined : BigInt(found.mod_revision),
      );
    });
  }

  async remove(store: string, key: string, ifVersion?: bigint): Promise<boolean> {
    const entry = this.link.keys.configEntry(store, key);
    if (ifVersion === undefined) {
      const res = await this.link.withRetry((client) => client.kv.deleteRange({ key: entry }));
      return res.deleted !== "0";
    }
    return this.link.withRetry(async (client, attempt) => {
      const res = await this.link.txn(client, {
        compare: [{ key: entry, target: "Mod", result: "Equal", mod_revision: ifVersion.toString() }],
        success: [{ request_delete_range: { key: entry } }],
        failure: [{ request_range: { key: entry, keys_only: true } }],
      });
      if (res.succeeded) return true;
      const found = rangeKvs(res, 0)[0];
      // Absent on a retry: our earlier attempt, whose answer was lost, deleted it (as deleteGroup reads it).
      if (attempt > 1 && found === undefined) return true;
      throw versionMismatch(
        store,
        key,
        ifVersion,
        found === undefined ? undefined : BigInt(found.mod_revision),
      );
    });
  }

  async list(store: string, prefix: string): Promise<ConfigListing> {
    const range = this.link.keys.configEntries(store, prefix);
    const res = await this.link.withRetry((client) =>
      client.kv.range({ key: range.key, range_end: range.rangeEnd }),
    );
    return {
      entries: res.kvs.map((kv) => decodeConfigRecord(this.link.keys.configKey(store, kv.key), kv)),
      revision: BigInt(res.header.revision),
    };
  }

  /**
   * Scans the keys (keys only, a page at a time) and skips past each store as soon as it has seen one of
   * its keys: a request per page of small stores, at most one per store.
   */
  async stores(): Promise<string[]> {
    const names: string[] = [];
    let after: string | undefined;
    for (;;) {
      const range = this.link.keys.configStores(after);
      const res = await this.link.withRetry((client) =>
        client.kv.range({
          key: range.key,
          range_end: range.rangeEnd,
          keys_only: true,
          limit: STORE_SCAN_PAGE,
        }),
      );
      for (const kv of res.kvs) {
        const name = this.link.keys.configStoreName(kv.key);
        if (names[names.length - 1] !== name) names.push(name);
      }
      const last = names[names.length - 1];
      if (!res.more || last === undefined) return names;
      after = last;
    }
  }

  async watch(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle> {
    return this.link.watchRange(this.link.keys.configEntries(store, prefix), fromRevision + 1n, {
      events: (events) => {
        for (const event of events) listener.change(this.translate(store, event));
      },
      lost: (reason) => listener.resync(reason),
    });
  }

  /** A watch event as a change; a delete's `mod_revision` is the revision of the delete. */
  private translate(store: string, event: IEvent): ConfigChange {
    const key = this.link.keys.configKey(store, event.kv.key);
    const revision = BigInt(event.kv.mod_revision);
    if (event.type === "Delete") return { type: "delete", key, revision };
    return { type: "put", entry: decodeConfigRecord(key, event.kv), revision };
  }
}
