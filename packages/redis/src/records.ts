import { type DriverEvent, type LeaveReason, type Member, parseStoredMetadata } from "@rollcall/core/driver";

/** Splits `text` at the first `count` `|` characters; the last part keeps any further `|` (metadata JSON). */
function split(text: string, count: number): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const bar = text.indexOf("|", start);
    if (bar === -1) throw new Error(`malformed record in Redis: ${JSON.stringify(text.slice(0, 80))}`);
    parts.push(text.slice(start, bar));
    start = bar + 1;
  }
  parts.push(text.slice(start));
  return parts;
}

function member(
  group: string,
  id: string,
  seq: string,
  joinedMs: string,
  updatedMs: string,
  metadata: string,
): Member {
  return {
    id,
    group,
    metadata: parseStoredMetadata(metadata),
    seq: BigInt(seq),
    joinedAt: new Date(Number(joinedMs)),
    updatedAt: new Date(Number(updatedMs)),
  };
}

/** Decodes a value of the `g/<group>/m` hash: `<session>|<seq>|<joinedMs>|<updatedMs>|<metadata>`. */
export function decodeMember(group: string, id: string, record: string): Member {
  const [, seq = "", joined = "", updated = "", metadata = "{}"] = split(record, 4);
  return member(group, id, seq, joined, updated, metadata);
}

/** A change as published on a group's channel and stored in its log. */
export type ChangeMessage =
  | { kind: "event"; previous: bigint; revision: bigint; event: DriverEvent }
  | { kind: "deleted"; previous: bigint; revision: bigint };

const REASONS: ReadonlySet<string> = new Set(["left", "expired", "unknown"]);

/**
 * Decodes a change message:
 * `j|prev|rev|id|seq|joinedMs|updatedMs|metadata` (join), `u|…` (update, same fields),
 * `l|prev|rev|id|reason` (leave) or `d|prev|rev|` (the group was deleted).
 */
export function decodeChange(group: string, text: string): ChangeMessage {
  const [kind = "", prev = "", rev = ""] = split(text, 3);
  const previous = BigInt(prev);
  const revision = BigInt(rev);
  if (kind === "d") return { kind: "deleted", previous, revision };
  if (kind === "l") {
    const [, , , id = "", reason = "unknown"] = split(text, 4);
    const leaveReason: LeaveReason = REASONS.has(reason) ? (reason as LeaveReason) : "unknown";
    return {
      kind: "event",
      previous,
      revision,
      event: { type: "leave", memberId: id, reason: leaveReason, revision },
    };
  }
  if (kind === "j" || kind === "u") {
    const [, , , id = "", seq = "", joined = "", updated = "", metadata = "{}"] = split(text, 7);
    const record = member(group, id, seq, joined, updated, metadata);
    const type = kind === "j" ? "join" : "update";
    return { kind: "event", previous, revision, event: { type, member: record, revision } };
  }
  throw new Error(`unknown change kind ${JSON.stringify(kind)} in Redis`);
}
