import type { ConfigChange, ConfigRecord, Json } from "@rollcall/core/driver";
import type { ChainedMessage } from "./log-watch.js";

/** Splits `text` at the first `count` `|` characters; the last part keeps any further `|` (the value JSON). */
function split(text: string, count: number): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const bar = text.indexOf("|", start);
    if (bar === -1)
      throw new Error(`malformed configuration record in Redis: ${JSON.stringify(text.slice(0, 80))}`);
    parts.push(text.slice(start, bar));
    start = bar + 1;
  }
  parts.push(text.slice(start));
  return parts;
}

function record(key: string, version: string, updatedMs: string, value: string): ConfigRecord {
  return {
    key,
    value: JSON.parse(value) as Json,
    version: BigInt(version),
    updatedAt: new Date(Number(updatedMs)),
  };
}

/** Decodes a value of the `cfg/<store>` hash: `<version>|<updatedMs>|<value JSON>`. */
export function decodeConfigRecord(key: string, text: string): ConfigRecord {
  const [version = "", updated = "", value = ""] = split(text, 2);
  return record(key, version, updated, value);
}

/** A configuration change as published on a store's channel and kept in its log. */
export interface ConfigMessage extends ChainedMessage {
  /** The change, stamped with {@link ChainedMessage.revision}. */
  change: ConfigChange;
}

/** The key a change is about. */
export function changedKey(change: ConfigChange): string {
  return change.type === "put" ? change.entry.key : change.key;
}

/**
 * Decodes a configuration change message: `p|prev|rev|key|updatedMs|value JSON` (put; the entry's
 * version is the revision) or `x|prev|rev|key` (delete).
 */
export function decodeConfigChange(text: string): ConfigMessage {
  const [kind = "", prev = "", rev = ""] = split(text, 3);
  const previous = BigInt(prev);
  const revision = BigInt(rev);
  if (kind === "x") {
    const [, , , key = ""] = split(text, 3);
    return { previous, revision, change: { type: "delete", key, revision } };
  }
  if (kind === "p") {
    const [, , , key = "", updated = "", value = ""] = split(text, 5);
    return { previous, revision, change: { type: "put", entry: record(key, rev, updated, value), revision } };
  }
  throw new Error(`unknown configuration change kind ${JSON.stringify(kind)} in Redis`);
}
