/**
 * The etcd3 npm client, as the etcd3 peer uses it: the very copy `@rollcall/etcd` depends on (etcd3 1.1.2),
 * loaded from that package's own dependencies (the benchmarks package does not declare etcd3: its lockfile
 * entry could not be added offline), typed here by the few calls the peer makes.
 */
import { createRequire } from "node:module";

/** A key-value pair as etcd returns it. */
export interface EtcdKeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
}

/** The header every etcd response carries. */
export interface EtcdHeader {
  revision: string;
}

/** A range read's response. */
export interface EtcdRangeResponse {
  header: EtcdHeader;
  kvs: EtcdKeyValue[];
}

/** A put's response. */
export interface EtcdPutResponse {
  header: EtcdHeader;
}

/** A transaction's response. */
export interface EtcdTxnResponse {
  header: EtcdHeader;
  succeeded: boolean;
}

/** `client.put(key)`. */
export interface EtcdPutBuilder {
  value(value: string): EtcdPutBuilder;
  exec(): Promise<EtcdPutResponse>;
}

/** `client.get(key)`. */
export interface EtcdSingleRangeBuilder {
  exec(): Promise<EtcdRangeResponse>;
}

/** `client.getAll()`. */
export interface EtcdMultiRangeBuilder {
  prefix(prefix: string): EtcdMultiRangeBuilder;
  exec(): Promise<EtcdRangeResponse>;
}

/** `client.if(key, "Mod", "==", revision)`: a transaction. */
export interface EtcdComparatorBuilder {
  // etcd3 names the success branch `then`: the builder is never awaited, only `commit()` is.
  then(...operations: EtcdPutBuilder[]): EtcdComparatorBuilder;
  commit(): Promise<EtcdTxnResponse>;
}

/** A created watch. */
export interface EtcdWatcher {
  on(event: "put", handler: (kv: EtcdKeyValue) => void): EtcdWatcher;
  on(event: "delete", handler: (kv: EtcdKeyValue) => void): EtcdWatcher;
  on(event: "error" | "disconnected", handler: (error: Error) => void): EtcdWatcher;
  cancel(): Promise<void>;
}

/** `client.watch()`. */
export interface EtcdWatchBuilder {
  prefix(prefix: string): EtcdWatchBuilder;
  startRevision(revision: string): EtcdWatchBuilder;
  create(): Promise<EtcdWatcher>;
}

/** The part of etcd3's `Etcd3` the peer uses. */
export interface EtcdClient {
  get(key: string): EtcdSingleRangeBuilder;
  getAll(): EtcdMultiRangeBuilder;
  put(key: string): EtcdPutBuilder;
  if(key: string, column: "Mod", comparator: "==", value: string): EtcdComparatorBuilder;
  watch(): EtcdWatchBuilder;
  close(): void;
}

/** etcd3's `Etcd3` class. */
export type EtcdClientClass = new (options: { hosts: string[] }) => EtcdClient;

/** Loads etcd3's `Etcd3` class from `@rollcall/etcd`'s dependencies. */
export function loadEtcd3(): EtcdClientClass {
  const require = createRequire(import.meta.resolve("@rollcall/etcd"));
  const etcd3 = require("etcd3") as { Etcd3: EtcdClientClass };
  return etcd3.Etcd3;
}
