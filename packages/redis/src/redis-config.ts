import { randomBytes } from "node:crypto";
import {
  type ConfigDriver,
  type ConfigListing,
  type ConfigRecord,
  type ConfigWatchListener,
  type Json,
  versionMismatch,
  type WatchHandle,
} from "@rollcall/core/driver";
import type { Redis } from "ioredis";
import type { ChannelSubscriber } from "./channel-hub.js";
import { type ConfigMessage, decodeConfigChange, decodeConfigRecord } from "./config-records.js";
import { CONFIG_SCRIPTS } from "./config-scripts.js";
import { type ConfigLogReply, ConfigWatch } from "./config-watch.js";
import type { KeySpace } from "./key-space.js";
import type { LuaScript } from "./lua-scripts.js";

type Reply = string | number | null | Reply[];

/** What the configuration store needs of its {@link RedisDriver}: its connection, scripts and channels. */
export interface RedisConfigLink {
  readonly keys: KeySpace;
  /** Runs a script (`KEYS[1]`, prefix and log cap added); failures come back as `RollcallError`s. */
  run(script: LuaScript, args: string[], key?: string): Promise<unknown>;
  /** Runs one command on the connection; failures come back as `RollcallError`s. */
  command<T>(operation: (client: Redis) => Promise<T>, key?: string): Promise<T>;
  /** Subscribes to a store's channel; resolves with the unsubscribe. */
  subscribe(store: string, subscriber: ChannelSubscriber<ConfigMessage>): Promise<() => void>;
}

/** The version a script found, from its text (`''`: the key is absent). */
function found(text: Reply | undefined): bigint | undefined {
  return text === "" || text == null ? undefined : BigInt(String(text));
}

/**
 * The Redis backend's {@link ConfigDriver}. Each store is a hash of key → `<version>|<updatedMs>|<value>`
 * with a capped change stream and a channel beside it; every write is one Lua script that compares the
 * version, takes a new one from the namespace's revision counter (so a key's version grows across a
 * delete and a re-create), writes the entry, logs and publishes the change — atomically, in commit
 * order. Watches follow the stream and the channel exactly as group watches do (see {@link LogWatch}).
 *
 * Nothing here uses the session: entries have no TTL, the reaper never touches them, and every call
 * works whenever the server answers, even while the coordinator's session is expired.
 */
export class RedisConfigStore implements ConfigDriver {
  constructor(private readonly link: RedisConfigLink) {}

  async get(store: string, key: string): Promise<ConfigRecord | undefined> {
    const hash = this.link.keys.configEntries(store);
    const text = await this.link.command((client) => client.hget(hash, key), key);
    return text == null ? undefined : decodeConfigRecord(key, text);
  }

  async put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord> {
    this.link.keys.configEntries(store);
    const json = JSON.stringify(value);
    const reply = (await this.link.run(
      CONFIG_SCRIPTS.configPut,
      [store, key, json, ifVersion === undefined ? "" : ifVersion.toString()],
      key,
    )) as Reply[];
    if (Number(reply[0]) !== 1) throw versionMismatch(store, key, ifVersion ?? 0n, found(reply[1]));
    return {
      key,
      value: JSON.parse(json) as Json,
      version: BigInt(String(reply[1])),
      updatedAt: new Date(Number(reply[2])),
    };
  }

  async remove(store: string, key: string, ifVersion?: bigint): Promise<boolean> {
    this.link.keys.configEntries(store);
    const reply = (await this.link.run(
      CONFIG_SCRIPTS.configRemove,
      [store, key, ifVersion === undefined ? "" : ifVersion.toString()],
      key,
    )) as Reply[];
    if (Number(reply[0]) !== 1) throw versionMismatch(store, key, ifVersion ?? 0n, found(reply[1]));
    return Number(reply[1]) === 1;
  }

  async list(store: string, prefix: string): Promise<ConfigListing> {
    this.link.keys.configEntries(store);
    const reply = (await this.link.run(CONFIG_SCRIPTS.configList, [store, prefix])) as Reply[];
    const flat = (reply[1] ?? []) as Reply[];
    const entries: ConfigRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push(decodeConfigRecord(String(flat[i]), String(flat[i + 1])));
    }
    return { entries, revision: BigInt(String(reply[0])) };
  }

  async stores(): Promise<string[]> {
    const set = this.link.keys.configStores;
    return this.link.command((client) => client.smembers(set));
  }

  async watch(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle> {
    this.link.keys.configEntries(store);
    let release = (): void => {};
    const watch = new ConfigWatch(
      store,
      prefix,
      fromRevision,
      listener,
      (after) => this.readChanges(store, after),
      () => release(),
    );
    release = await this.link.subscribe(store, watch);
    await watch.start();
    return watch;
  }

  private async readChanges(store: string, after: bigint): Promise<ConfigLogReply> {
    const reply = (await this.link.run(CONFIG_SCRIPTS.configChanges, [
      store,
      after.toString(),
      randomBytes(8).toString("hex"),
    ])) as Reply[];
    const [epoch, floor, entries] = reply;
    const messages = ((entries ?? []) as Reply[][]).map((entry) => {
      const fields = (entry[1] ?? []) as Reply[];
      return decodeConfigChange(String(fields[1]));
    });
    return { epoch: String(epoch), floor: BigInt(String(floor)), messages };
  }
}
