import { RollcallError, type RollcallErrorOptions } from "./rollcall-error.js";

/**
 * The errors of a driver without a usable session, worded once for every backend: a driver throws these
 * rather than spelling its own message. `backend` is the backend's name as users see it (`"etcd"`,
 * `"ZooKeeper"`); `action`, where given, says what could not be done (`"join"`).
 */

/** `NOT_CONNECTED`: the driver was closed (by `close()`, or while an `open()` was under way). */
export function driverClosed(backend: string, action?: string): RollcallError {
  return new RollcallError("NOT_CONNECTED", `${action ? `${action}: ` : ""}the ${backend} driver is closed`);
}

/**
 * `NOT_CONNECTED`: the driver has no session to act with right now — never opened, or expired and not yet
 * re-opened by core. `detail` says which, when the driver knows (e.g. `the session is suspended`).
 */
export function noSession(
  backend: string,
  detail?: string,
  options: RollcallErrorOptions = {},
): RollcallError {
  return new RollcallError(
    "NOT_CONNECTED",
    `no ${backend} session (${detail ?? "closed, or expired and not yet re-opened"})`,
    options,
  );
}

/**
 * `SESSION_EXPIRED`: the server says the session is gone (its TTL or lease ran out, it was reaped), so
 * what the call would have written under it cannot be. Core re-opens the session and re-joins.
 */
export function sessionExpired(
  backend: string,
  action?: string,
  options: RollcallErrorOptions = {},
): RollcallError {
  return new RollcallError(
    "SESSION_EXPIRED",
    `${action ? `${action} failed: ` : ""}the ${backend} session has expired`,
    options,
  );
}
