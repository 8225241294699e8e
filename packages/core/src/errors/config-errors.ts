import { RollcallError } from "./rollcall-error.js";

/**
 * `VERSION_MISMATCH`: a compare-and-set on a configuration entry found another version than the one
 * asked for. Worded once for every backend; `found` is the version the backend saw (`undefined`: the key
 * is absent).
 */
export function versionMismatch(
  store: string,
  key: string,
  expected: bigint,
  found: bigint | undefined,
): RollcallError {
  const want = expected === 0n ? "to be absent" : `at version ${expected}`;
  const seen = found === undefined ? "it is absent" : `it is at version ${found}`;
  return new RollcallError(
    "VERSION_MISMATCH",
    `configuration ${JSON.stringify(store)}: expected key ${JSON.stringify(key)} ${want}, but ${seen}`,
    { key, ...(found === undefined ? {} : { version: found }) },
  );
}
