/**
 * The key layout under a namespace `ns` (namespace segments never start with `@`, so no namespace's
 * keys can fall inside another's):
 *
 * - `ns/@groups/<group>`: a group (persistent), value `{"createdAt":ms,"token":…}`.
 * - `ns/@members/<group>/<memberId>`: a member, bound to its session's lease, value
 *   `{"metadata":…,"joinedAt":ms,"updatedAt":ms}`.
 * - `ns/@members/<group>/.left/<memberId>`: written in the same transaction that deletes a member on
 *   a graceful leave, so watchers can tell `left` from `expired`; bound to the same lease.
 *
 * - `ns/@config/<store>/<key>`: a configuration entry (persistent, no lease), value
 *   `{"value":…,"updatedAt":ms,"writeId":…}`; its version is the key's `mod_revision`.
 *
 * Member ids start with a letter or digit, so `.left/…` never names a member, and every member key
 * of a group lies in `[…/<group>/0, …/<group>/{)`, which excludes the markers. Store names have no
 * `/`, so the first segment after `@config/` is always the store.
 */
export class KeyLayout {
  private readonly groupsPrefix: string;
  private readonly membersPrefix: string;
  private readonly configPrefix: string;

  constructor(namespace: string) {
    this.groupsPrefix = `${namespace}/@groups/`;
    this.membersPrefix = `${namespace}/@members/`;
    this.configPrefix = `${namespace}/@config/`;
  }

  /** The range of every group record. */
  groups(): { key: Buffer; rangeEnd: Buffer } {
    return prefixRange(this.groupsPrefix);
  }

  group(group: string): Buffer {
    return Buffer.from(this.groupsPrefix + group);
  }

  /** The group's name from a group record key. */
  groupName(key: Buffer): string {
    return key.toString("utf8").slice(this.groupsPrefix.length);
  }

  member(group: string, memberId: string): Buffer {
    return Buffer.from(`${this.membersPrefix}${group}/${memberId}`);
  }

  leftMarker(group: string, memberId: string): Buffer {
    return Buffer.from(`${this.membersPrefix}${group}/.left/${memberId}`);
  }

  /** Every member key of the group, markers excluded. */
  members(group: string): { key: Buffer; rangeEnd: Buffer } {
    return {
      key: Buffer.from(`${this.membersPrefix}${group}/0`),
      rangeEnd: Buffer.from(`${this.membersPrefix}${group}/{`),
    };
  }

  /** Member keys and leave markers of the group: what a group watch covers. */
  groupContents(group: string): { key: Buffer; rangeEnd: Buffer } {
    return prefixRange(`${this.membersPrefix}${group}/`);
  }

  /** Classifies a key inside {@link groupContents}. */
  parse(group: string, key: Buffer): { kind: "member" | "left"; memberId: string } | undefined {
    const rest = key.toString("utf8").slice(this.membersPrefix.length + group.length + 1);
    if (rest.startsWith(".left/")) return { kind: "left", memberId: rest.slice(6) };
    if (rest === "" || rest.includes("/")) return undefined;
    return { kind: "member", memberId: rest };
  }

  /** The key of a configuration entry. */
  configEntry(store: string, key: string): Buffer {
    return Buffer.from(`${this.configPrefix}${store}/${key}`);
  }

  /** The entries of a store whose keys start with `prefix` (`""`: all of them). */
  configEntries(store: string, prefix: string): { key: Buffer; rangeEnd: Buffer } {
    return prefixRange(`${this.configPrefix}${store}/${prefix}`);
  }

  /** The entry key (as core knows it) of a configuration key of `store`. */
  configKey(store: string, key: Buffer): string {
    return key.toString("utf8").slice(this.configPrefix.length + store.length + 1);
  }

  /**
   * The configuration entries of every store from `afterStore` on (exclusive: from the first key past
   * all of that store's entries), or of every store.
   */
  configStores(afterStore?: string): { key: Buffer; rangeEnd: Buffer } {
    const all = prefixRange(this.configPrefix);
    // `/` + 1 is `0`: `<store>0` is the first key past every `<store>/…` (no name character lies
    // between `/` and `0`), so a range from it skips exactly that store.
    return afterStore === undefined
      ? all
      : { ...all, key: Buffer.from(`${this.configPrefix}${afterStore}0`) };
  }

  /** The store name of a configuration key. */
  configStoreName(key: Buffer): string {
    const rest = key.toString("utf8").slice(this.configPrefix.length);
    const slash = rest.indexOf("/");
    return slash < 0 ? rest : rest.slice(0, slash);
  }
}

/**
 * `[prefix, prefix with its last byte incremented)`: every key starting with `prefix`. Prefixes here are
 * non-empty ASCII (namespace, `@…/`, names and keys of printable characters), so the last byte is below `0xff`.
 */
function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  const key = Buffer.from(prefix);
  const rangeEnd = Buffer.from(key);
  rangeEnd[rangeEnd.length - 1] = (rangeEnd[rangeEnd.length - 1] ?? 0) + 1;
  return { key, rangeEnd };
}
