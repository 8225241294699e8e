import type { ConfigRecord, Json } from "@rollcall/core/driver";
import type { IKeyValue } from "etcd3";

/** What a configuration key holds: the value, when it was written, and which call wrote it. */
interface StoredConfigValue {
  value: Json;
  updatedAt: number;
  /** Unique per `put()` call: a retried compare-and-set recognises its own earlier, applied attempt. */
  writeId: string;
}

/** The value of a configuration key (JSON text). */
export function encodeConfigValue(value: Json, updatedAt: number, writeId: string): Buffer {
  const stored: StoredConfigValue = { value, updatedAt, writeId };
  return Buffer.from(JSON.stringify(stored));
}

function isStored(parsed: unknown): parsed is StoredConfigValue {
  return (
    typeof parsed === "object" &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.hasOwn(parsed, "value") &&
    typeof (parsed as { updatedAt?: unknown }).updatedAt === "number"
  );
}

/**
 * A configuration entry from its key-value: `version` is the key's `mod_revision`. A value not written
 * by rollcall (`etcdctl put`) reads as its JSON (its text as a string when it is not JSON), with
 * `updatedAt` at the epoch.
 */
export function decodeConfigRecord(key: string, kv: IKeyValue): ConfigRecord {
  const text = kv.value.toString("utf8");
  let value: Json = text;
  let updatedAt = 0;
  try {
    const parsed = JSON.parse(text) as Json;
    if (isStored(parsed)) {
      value = parsed.value;
      updatedAt = parsed.updatedAt;
    } else {
      value = parsed;
    }
  } catch {
    // Not JSON: the text itself.
  }
  return { key, value, version: BigInt(kv.mod_revision), updatedAt: new Date(updatedAt) };
}
