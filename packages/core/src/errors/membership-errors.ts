import { RollcallError } from "./rollcall-error.js";

/**
 * The errors of group and member lifecycle, worded once for every backend: a driver throws these rather
 * than spelling its own message, so the same failure reads the same on every backend. Names are quoted
 * as JSON strings. `detail`, where accepted, adds what the backend knows (e.g. which session holds a
 * member).
 */

/** `GROUP_NOT_FOUND`: the group does not exist. */
export function groupNotFound(group: string, memberId?: string): RollcallError {
  return new RollcallError("GROUP_NOT_FOUND", `group ${JSON.stringify(group)} does not exist`, {
    group,
    ...(memberId === undefined ? {} : { memberId }),
  });
}

/** `GROUP_EXISTS`: a group of that name exists already. */
export function groupExists(group: string): RollcallError {
  return new RollcallError("GROUP_EXISTS", `group ${JSON.stringify(group)} already exists`, { group });
}

/** `GROUP_NOT_EMPTY`: a group that still has members cannot be deleted. */
export function groupNotEmpty(group: string, members?: number): RollcallError {
  const how = members === undefined ? "members" : `${members} member${members === 1 ? "" : "s"}`;
  return new RollcallError("GROUP_NOT_EMPTY", `group ${JSON.stringify(group)} still has ${how}`, { group });
}

/** `MEMBER_EXISTS`: the member id is already in the group (held by another session, or this one). */
export function memberExists(group: string, memberId: string, detail?: string): RollcallError {
  return new RollcallError(
    "MEMBER_EXISTS",
    `member ${JSON.stringify(memberId)} is already in group ${JSON.stringify(group)}${detail ? ` (${detail})` : ""}`,
    { group, memberId },
  );
}

/** `MEMBER_NOT_JOINED`: this session holds no such member in the group (never joined, left, or expired). */
export function memberNotJoined(group: string, memberId: string, detail?: string): RollcallError {
  return new RollcallError(
    "MEMBER_NOT_JOINED",
    `member ${JSON.stringify(memberId)} has not joined group ${JSON.stringify(group)} in this session${detail ? ` (${detail})` : ""}`,
    { group, memberId },
  );
}
