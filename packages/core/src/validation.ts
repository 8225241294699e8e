import { RollcallError } from "./errors/rollcall-error.js";
import type { Json, Metadata } from "./types.js";

/** Largest metadata size any backend accepts, in bytes of UTF-8 JSON; `maxMetadataBytes` may lower it. */
export const MAX_METADATA_BYTES = 65_536;
/** Deepest nesting of objects and arrays allowed in metadata. */
export const MAX_METADATA_DEPTH = 32;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const INTERNAL_GROUP = /^_[a-z]+\.[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
/** Longest configuration key, in characters. */
export const MAX_CONFIG_KEY_LENGTH = 256;
const CONFIG_SEGMENT = "[A-Za-z0-9][A-Za-z0-9._:@-]*";
const CONFIG_KEY = new RegExp(`^${CONFIG_SEGMENT}(/${CONFIG_SEGMENT})*$`);
const CONFIG_PREFIX = /^[A-Za-z0-9._:@/-]*$/;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function describe(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

function assertName(kind: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid ${kind} ${describe(value)}: must be 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit`,
    );
  }
}

/**
 * Checks a group name given by a user: 1–128 characters of `[A-Za-z0-9._:@-]`, starting with a letter
 * or digit. Names starting with `_` are reserved for core's election and lock groups.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function validateGroupName(group: unknown): asserts group is string {
  assertName("group name", group);
}

/** Same as {@link validateGroupName}, but also accepts core's internal `_kind.name` groups. */
export function validateAnyGroupName(group: unknown): asserts group is string {
  if (typeof group === "string" && INTERNAL_GROUP.test(group)) return;
  assertName("group name", group);
}

/** True for core's internal group names (elections, locks), which `groups()` does not list. */
export function isInternalGroup(group: string): boolean {
  return group.startsWith("_");
}

/**
 * Checks a member id: the same rule as group names.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function validateMemberId(memberId: unknown): asserts memberId is string {
  assertName("member id", memberId);
}

/** Checks an election or lock name: the same rule as group names. */
export function validateElectionName(name: unknown): asserts name is string {
  assertName("election or lock name", name);
}

function checkJson(value: unknown, path: string, depth: number, what = "metadata"): void {
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "string") {
    if (!value.isWellFormed()) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `${what}${path} is a string with a lone surrogate: not valid Unicode`,
      );
    }
    return;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new RollcallError("INVALID_ARGUMENT", `${what}${path} is ${value}: numbers must be finite`);
    }
    return;
  }
  if (typeof value !== "object") {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${what}${path} is a ${typeof value}: only JSON values are allowed`,
    );
  }
  if (depth >= MAX_METADATA_DEPTH) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${what}${path} nests deeper than ${MAX_METADATA_DEPTH} levels`,
    );
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i], `${path}[${i}]`, depth + 1, what);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new RollcallError("INVALID_ARGUMENT", `${what}${path} is not a plain object (${describe(value)})`);
  }
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === "symbol") {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `${what}${path} has a symbol key: only string keys are allowed`,
      );
    }
    if (FORBIDDEN_KEYS.has(key)) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `${what}${path} has the key "${key}", which is not allowed`,
      );
    }
    if (!key.isWellFormed()) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `${what}${path} has a key with a lone surrogate: not valid Unicode`,
      );
    }
    checkJson((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, what);
  }
}

/**
 * Validates metadata and returns a detached copy (so later changes by the caller do not leak into
 * the membership). Metadata must be a plain JSON object: finite numbers, well-formed strings, no
 * `undefined`, functions, symbols, class instances or `__proto__`/`constructor`/`prototype` keys,
 * at most {@link MAX_METADATA_DEPTH} levels deep and at most `maxBytes` bytes as UTF-8 JSON.
 * @throws RollcallError `INVALID_ARGUMENT` or `METADATA_TOO_LARGE`
 */
export function validateMetadata(metadata: unknown, maxBytes: number = MAX_METADATA_BYTES): Metadata {
  if (metadata === undefined) return {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `metadata must be a plain JSON object, got ${describe(metadata)}`,
    );
  }
  checkJson(metadata, "", 0);
  const text = JSON.stringify(metadata);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw new RollcallError(
      "METADATA_TOO_LARGE",
      `metadata is ${bytes} bytes as JSON; the limit is ${maxBytes} bytes`,
    );
  }
  return JSON.parse(text) as Metadata;
}

/**
 * Checks a configuration store's name: the same rule as group names.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function validateConfigName(name: unknown): asserts name is string {
  assertName("configuration name", name);
}

/**
 * Checks a configuration key: segments of the group-name rule (1–128 characters of `[A-Za-z0-9._:@-]`,
 * each starting with a letter or digit) joined by `/`, at most {@link MAX_CONFIG_KEY_LENGTH} characters
 * in all; no empty segment, no leading or trailing `/`.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function validateConfigKey(key: unknown): asserts key is string {
  if (
    typeof key !== "string" ||
    key.length > MAX_CONFIG_KEY_LENGTH ||
    !CONFIG_KEY.test(key) ||
    key.split("/").some((segment) => segment.length > 128)
  ) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid configuration key ${describe(key)}: must be segments of letters, digits and . _ : @ -, each starting with a letter or digit, separated by /, at most ${MAX_CONFIG_KEY_LENGTH} characters`,
      typeof key === "string" ? { key } : {},
    );
  }
}

/**
 * Checks a key prefix (`""` selects every key): at most {@link MAX_CONFIG_KEY_LENGTH} characters of
 * `[A-Za-z0-9._:@/-]`; it may end inside a segment or with `/`.
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function validateConfigPrefix(prefix: unknown): string {
  if (prefix === undefined) return "";
  if (typeof prefix !== "string" || prefix.length > MAX_CONFIG_KEY_LENGTH || !CONFIG_PREFIX.test(prefix)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid configuration prefix ${describe(prefix)}: must be at most ${MAX_CONFIG_KEY_LENGTH} characters of letters, digits and . _ : @ - /`,
    );
  }
  return prefix;
}

/**
 * Validates a configuration value and returns a detached copy: any JSON value (not `undefined`), with
 * the rules and the size limit of metadata (see {@link validateMetadata}).
 * @throws RollcallError `INVALID_ARGUMENT` or `METADATA_TOO_LARGE`
 */
export function validateConfigValue(value: unknown, maxBytes: number = MAX_METADATA_BYTES): Json {
  if (value === undefined) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      "a configuration value must be JSON, got undefined (use delete())",
    );
  }
  checkJson(value, "", 0, "the configuration value");
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw new RollcallError(
      "METADATA_TOO_LARGE",
      `the configuration value is ${bytes} bytes as JSON; the limit is ${maxBytes} bytes`,
    );
  }
  return JSON.parse(text) as Json;
}

/**
 * Checks an `ifVersion` option: a non-negative `bigint` (`0n`: the key must be absent), or undefined.
 * `allowAbsent: false` refuses `0n` (a delete of an absent key means nothing).
 * @throws RollcallError `INVALID_ARGUMENT`
 */
export function validateIfVersion(value: unknown, allowAbsent: boolean): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "bigint" || value < (allowAbsent ? 0n : 1n)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `ifVersion must be a bigint ${allowAbsent ? "≥ 0n (0n: only if absent)" : "≥ 1n"}, got ${typeof value === "bigint" ? `${value}n` : describe(value)}`,
    );
  }
  return value;
}

/** Checks that a value is an integer within bounds; names the option in the error. */
export function validateInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Checks an optional `AbortSignal` argument. */
export function validateSignal(name: string, signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new RollcallError("INVALID_ARGUMENT", `${name} must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal;
}

/** Checks that an options argument is an object or undefined. */
export function validateOptions(name: string, options: unknown): void {
  if (options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${name} must be an options object, got ${describe(options)}`,
    );
  }
}

/** Parses stored metadata JSON from a backend (drivers use this to decode what they stored). */
export function parseStoredMetadata(text: string): Metadata {
  const value = JSON.parse(text) as Json;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  return value;
}
