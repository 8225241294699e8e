import { type Metadata, parseStoredMetadata, validateConfigKey } from "@rollcall/core/driver";

/**
 * Where everything lives, under the namespace `/<ns>`:
 *
 * ```
 * /<ns>/<group>                       persistent: the group
 * /<ns>/<group>/<memberId>            ephemeral: a member; data = its metadata as UTF-8 JSON
 * /<ns>/.journal/<group>/             persistent: the group's journal (records below)
 *   L.<memberId>@<czxid>-<seq>        leave intent, written before the member's znode is deleted
 *   U.<memberId>@<czxid>.<version>-<seq>  update record, written after the member's data changed
 * /<ns>/.config/<store>/              persistent: a configuration store (`coord.config(store)`)
 *   <key, with "/" as %2F>            persistent: one entry; data = its value as UTF-8 JSON, or
 *                                     nothing: the key is absent (see zookeeper-config.ts)
 * ```
 *
 * Group names and member ids start with a letter, digit or `_` and never contain `/`, so no name
 * reaches outside its parent and neither `.journal` nor `.config` ever collides with a group.
 */
export class Layout {
  /** The namespace root, e.g. `/servicegroups`. */
  readonly root: string;
  /** Parent of every group's journal. */
  readonly journalRoot: string;
  /** Parent of every configuration store. */
  readonly configRoot: string;

  constructor(namespace: string) {
    this.root = `/${namespace}`;
    this.journalRoot = `${this.root}/.journal`;
    this.configRoot = `${this.root}/.config`;
  }

  /** The namespace's path segments from the top, e.g. `["/a", "/a/b"]`. */
  rootChain(): string[] {
    const parts = this.root.split("/").filter((p) => p !== "");
    return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
  }

  group(group: string): string {
    return `${this.root}/${safe(group)}`;
  }

  member(group: string, memberId: string): string {
    return `${this.group(group)}/${safe(memberId)}`;
  }

  journal(group: string): string {
    return `${this.journalRoot}/${safe(group)}`;
  }

  /** A configuration store's znode. */
  configStore(store: string): string {
    return `${this.configRoot}/${safe(store)}`;
  }

  /** The znode of a configuration entry (`name`: the key's znode name, see {@link encodeConfigKey}). */
  configEntry(store: string, name: string): string {
    return `${this.configStore(store)}/${name}`;
  }

  /** The prefix of a leave intent (ZooKeeper appends the sequence number). */
  leaveRecord(group: string, memberId: string, czxid: number): string {
    return `${this.journal(group)}/L.${safe(memberId)}@${hex(czxid)}-`;
  }

  /** The prefix of an update record for the member's data `version`. */
  updateRecord(group: string, memberId: string, czxid: number, version: number): string {
    return `${this.journal(group)}/U.${safe(memberId)}@${hex(czxid)}.${version}-`;
  }
}

/** A parsed journal record name. */
export interface JournalRecord {
  kind: "L" | "U";
  memberId: string;
  czxid: number;
  /** The member's data version this update produced (U records). */
  version: number;
  name: string;
}

const RECORD = /^([LU])\.(.+)@([0-9a-f]{16})(?:\.(\d+))?-(-?\d{10})$/;

/** Parses a journal child name; `undefined` for anything we did not write. */
export function parseRecord(name: string): JournalRecord | undefined {
  const match = RECORD.exec(name);
  if (!match) return undefined;
  const kind = match[1] as "L" | "U";
  const version = match[4];
  if ((kind === "U") !== (version !== undefined)) return undefined;
  return {
    kind,
    memberId: match[2] as string,
    czxid: Number.parseInt(match[3] as string, 16),
    version: Number(version ?? 0),
    name,
  };
}

/** The key of one incarnation of a member: its id and the czxid of its znode. */
export function incarnation(memberId: string, czxid: number): string {
  return `${memberId}@${czxid}`;
}

function hex(zxid: number): string {
  return BigInt(zxid).toString(16).padStart(16, "0");
}

// Core validates names to [A-Za-z0-9._:@-]; refusing anything else here keeps a path from ever
// escaping its parent even if that validation were bypassed.
function safe(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._:@-]*$/.test(name))
    throw new TypeError(`unsafe znode name ${JSON.stringify(name)}`);
  return name;
}

/** How a `/` of a configuration key is written in its znode's name (`%` is never part of a key). */
const KEY_SEPARATOR = "%2F";

/**
 * A configuration key's znode name: the key with every `/` written as `%2F`, so a key of several
 * segments is one child of its store. Reversible ({@link decodeConfigKey}): keys never contain `%`.
 */
export function encodeConfigKey(key: string): string {
  return key.replaceAll("/", KEY_SEPARATOR);
}

/**
 * The key a store's child znode stands for, or `undefined` for a name rollcall did not write (not the
 * encoding of a valid key).
 */
export function decodeConfigKey(name: string): string | undefined {
  const key = name.replaceAll(KEY_SEPARATOR, "/");
  if (encodeConfigKey(key) !== name) return undefined;
  try {
    validateConfigKey(key);
  } catch {
    return undefined;
  }
  return key;
}

/** A member's znode data. */
export function encodeMetadata(metadata: Metadata): Buffer {
  return Buffer.from(JSON.stringify(metadata), "utf8");
}

/** Decodes a member's znode data; anything that is not a JSON object reads as `{}`. */
export function decodeMetadata(data: Buffer | string): Metadata {
  try {
    return parseStoredMetadata(typeof data === "string" ? data : data.toString("utf8"));
  } catch {
    return {};
  }
}

/** A leave intent's data: the member as it joined, so a watcher that never saw it can report it. */
export interface LeaveRecordData {
  metadata: Metadata;
  joinedAt: number;
}

/** An update record's data. `previous` (the metadata at join) is only in the record of version 1. */
export interface UpdateRecordData {
  metadata: Metadata;
  previous?: Metadata;
  mzxid: number;
  updatedAt: number;
}

/** Encodes a record's data. */
export function encodeRecord(data: LeaveRecordData | UpdateRecordData): Buffer {
  return Buffer.from(JSON.stringify(data), "utf8");
}

/** Decodes a record's data, or `undefined` when it is not what we wrote. */
export function decodeRecord<T extends LeaveRecordData | UpdateRecordData>(data: Buffer): T | undefined {
  try {
    const value = JSON.parse(data.toString("utf8")) as unknown;
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    if (typeof record.metadata !== "object" || record.metadata === null || Array.isArray(record.metadata))
      return undefined;
    return value as T;
  } catch {
    return undefined;
  }
}
