import { RollcallError, validateAnyGroupName, validateConfigName } from "@rollcall/core/driver";

/**
 * The key layout of one namespace. Every key and channel starts with `rollcall:{<namespace>}:`; the
 * braces make the namespace a Redis Cluster hash tag, so all keys of a namespace share one slot and
 * one Lua script may touch any of them.
 *
 * | key | type | content |
 * |---|---|---|
 * | `P epoch` | string | random id written when the namespace is first used; a new value means the data was lost |
 * | `P rev` | string | counter for `seq` and revisions, started at the server's time in µs |
 * | `P groups` | set | group names |
 * | `P sessions` | sorted set | session id → deadline (server ms) |
 * | `P s/<session>` | string, PX ttl | the session's liveness key (value: member id) |
 * | `P s/<session>/g` | set | `<group>\n<memberId>` of every member the session holds |
 * | `P g/<group>` | hash | `rev` (last revision), `created` (creation revision), `floor` (last trimmed revision) |
 * | `P g/<group>/m` | hash | member id → `<session>|<seq>|<joinedMs>|<updatedMs>|<metadata JSON>` |
 * | `P g/<group>/log` | stream | entry id `0-<revision>`, field `e`: the change (same text as published) |
 * | `P c/<group>` | channel | every change of the group, as it is committed |
 * | `P cfgs` | set | names of the configuration stores that hold at least one entry |
 * | `P cfg/<store>` | hash | key → `<version>|<updatedMs>|<value JSON>` |
 * | `P cfg/<store>/state` | hash | `rev` (the store's last revision), `floor` (last trimmed revision) |
 * | `P cfg/<store>/log` | stream | entry id `0-<revision>`, field `e`: the change (same text as published) |
 * | `P cfgc/<store>` | channel | every change of the store, as it is committed |
 *
 * Configuration keys have no TTL and belong to no session: nothing but the configuration scripts
 * writes them.
 */
export class KeySpace {
  /** The prefix of every key: `rollcall:{<namespace>}:`. */
  readonly prefix: string;

  constructor(namespace: string) {
    if (!/^[A-Za-z0-9._/-]+$/.test(namespace)) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `namespace ${JSON.stringify(namespace)} is not usable as a Redis key prefix`,
      );
    }
    this.prefix = `rollcall:{${namespace}}:`;
  }

  /** The sorted set of session deadlines; passed as KEYS[1] so a cluster routes scripts to the namespace's slot. */
  get sessions(): string {
    return `${this.prefix}sessions`;
  }

  /** The pub/sub channel of a group. */
  channel(group: string): string {
    // Core validated the name already; checked again where it goes into a key, because no name with
    // `/`, `{`, `}`, `*` or a newline may leave its namespace (core's rule admits none of them).
    validateAnyGroupName(group);
    return `${this.prefix}c/${group}`;
  }

  /** The group whose channel this is, or undefined for a foreign channel. */
  groupOfChannel(channel: string): string | undefined {
    const head = `${this.prefix}c/`;
    return channel.startsWith(head) ? channel.slice(head.length) : undefined;
  }

  /** The set of configuration stores that hold at least one entry. */
  get configStores(): string {
    return `${this.prefix}cfgs`;
  }

  /** The hash of a configuration store's entries. */
  configEntries(store: string): string {
    // As for groups: checked again where the name goes into a key (no `/`, `{`, `}`, `|` or newline).
    validateConfigName(store);
    return `${this.prefix}cfg/${store}`;
  }

  /** The pub/sub channel of a configuration store. */
  configChannel(store: string): string {
    validateConfigName(store);
    return `${this.prefix}cfgc/${store}`;
  }

  /** The configuration store whose channel this is, or undefined for a foreign channel. */
  storeOfChannel(channel: string): string | undefined {
    const head = `${this.prefix}cfgc/`;
    return channel.startsWith(head) ? channel.slice(head.length) : undefined;
  }
}
