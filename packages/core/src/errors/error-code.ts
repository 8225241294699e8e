/**
 * The stable error codes carried by every {@link RollcallError}. Codes never change meaning
 * between versions; messages may.
 *
 * - `NOT_CONNECTED` — the coordinator has no usable session (closed, or between sessions).
 * - `CONNECTION` — the backend could not be reached, or refused the credentials.
 * - `TIMEOUT` — an operation with a deadline (e.g. `lock.acquire({ timeout })`) ran out of time.
 * - `GROUP_NOT_FOUND`, `GROUP_EXISTS`, `GROUP_NOT_EMPTY` — group lifecycle.
 * - `MEMBER_EXISTS`, `MEMBER_NOT_JOINED`, `MEMBER_NOT_FOUND` — membership.
 * - `NOT_LEADER` — an operation that needs leadership was attempted without it.
 * - `SESSION_EXPIRED` — the session ended on the server while the operation was under way.
 * - `NOT_SUPPORTED` — the backend does not declare the characteristic the operation needs.
 * - `CHARACTERISTIC_MISMATCH` — `connect({ require })` asked for what the backend is not.
 * - `UNKNOWN_SCHEME` — no backend is registered or installed for the URL's scheme.
 * - `INVALID_ARGUMENT` — bad input: a name, an id, an option value, a URL.
 * - `METADATA_TOO_LARGE` — metadata exceeds the configured size limit.
 * - `ALREADY_HELD` — this coordinator already holds (or is already acquiring) the lock, or already
 *   holds a seat in the election: locks and seats are not re-entrant.
 * - `VERSION_MISMATCH` — a compare-and-set on a configuration entry (`ifVersion`) found another
 *   version (or no entry); the error's `key` and `version` say what was found.
 */
export const ErrorCodes = [
  "NOT_CONNECTED",
  "CONNECTION",
  "TIMEOUT",
  "GROUP_NOT_FOUND",
  "GROUP_EXISTS",
  "GROUP_NOT_EMPTY",
  "MEMBER_EXISTS",
  "MEMBER_NOT_JOINED",
  "MEMBER_NOT_FOUND",
  "NOT_LEADER",
  "SESSION_EXPIRED",
  "NOT_SUPPORTED",
  "CHARACTERISTIC_MISMATCH",
  "UNKNOWN_SCHEME",
  "INVALID_ARGUMENT",
  "METADATA_TOO_LARGE",
  "ALREADY_HELD",
  "VERSION_MISMATCH",
] as const;

/** One of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[number];
