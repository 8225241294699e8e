import { noSession, RollcallError, sessionExpired } from "@rollcall/core/driver";
import { isConnectionRc, Rc } from "./zk-binding.js";

/** What failed, for the error message and the error's fields. */
export interface Failure {
  /** e.g. "join", "list members" */
  action: string;
  /** The servers, as a redacted URL or host list. */
  servers: string;
  group?: string;
  memberId?: string;
  /** A configuration key. */
  key?: string;
}

/**
 * Turns a ZooKeeper return code that has no specific meaning at the call site into a RollcallError:
 * `SESSION_EXPIRED` for an expired session, `NOT_CONNECTED` for a closed handle, `CONNECTION` for
 * connection loss, timeouts, ACL refusals and anything else. Messages name the servers, never a password.
 */
export function zkError(rc: number, failure: Failure): RollcallError {
  const options = { group: failure.group, memberId: failure.memberId, key: failure.key };
  const what = `${failure.action}${failure.group === undefined ? "" : ` in group "${failure.group}"`}`;
  if (rc === Rc.SESSIONEXPIRED) {
    return sessionExpired("ZooKeeper", what, options);
  }
  if (rc === Rc.INVALIDSTATE) {
    return noSession("ZooKeeper", `${what} failed: the session handle is closed, rc ${rc}`, options);
  }
  if (rc === Rc.NOAUTH) {
    return new RollcallError(
      "CONNECTION",
      `${what} failed: ZooKeeper at ${failure.servers} refused it (NOAUTH: the znode's ACL does not allow these credentials)`,
      options,
    );
  }
  const kind = isConnectionRc(rc) ? "lost the connection to" : "got an error from";
  return new RollcallError(
    "CONNECTION",
    `${what} failed: ${kind} ZooKeeper at ${failure.servers} (rc ${rc})`,
    options,
  );
}
