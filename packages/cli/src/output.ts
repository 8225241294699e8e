import type { ConfigEntry, ConfigEvent, Member, MembershipEvent } from "@rollcall/core";

/** Writes a line to stdout. */
export type Print = (line: string) => void;

/** A member as plain JSON (bigint and dates as strings). */
export function memberJson(member: Member): Record<string, unknown> {
  return {
    id: member.id,
    group: member.group,
    seq: member.seq.toString(),
    joinedAt: member.joinedAt.toISOString(),
    updatedAt: member.updatedAt.toISOString(),
    metadata: member.metadata,
  };
}

/** An event as plain JSON, stamped with the time it was seen. */
export function eventJson(event: MembershipEvent, at = new Date()): Record<string, unknown> {
  const base = { at: at.toISOString(), type: event.type, group: event.group };
  switch (event.type) {
    case "snapshot":
      return { ...base, members: event.members.map(memberJson) };
    case "leave":
      return { ...base, memberId: event.memberId, reason: event.reason };
    default:
      return { ...base, member: memberJson(event.member) };
  }
}

/** An event as one human line. */
export function eventLine(event: MembershipEvent, at = new Date()): string {
  const time = at.toISOString().slice(11, 23);
  switch (event.type) {
    case "snapshot":
      return `${time}  snapshot  ${event.members.length} up: ${event.members.map((m) => m.id).join(", ") || "(none)"}`;
    case "join":
      return `${time}  join      ${event.member.id} ${JSON.stringify(event.member.metadata)}`;
    case "update":
      return `${time}  update    ${event.member.id} ${JSON.stringify(event.member.metadata)}`;
    case "leave":
      return `${time}  leave     ${event.memberId} (${event.reason})`;
  }
}

/** Formats rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Members as a table. */
export function membersTable(members: Member[]): string {
  return table(
    ["ID", "SEQ", "JOINED", "METADATA"],
    members.map((m) => [m.id, m.seq.toString(), m.joinedAt.toISOString(), JSON.stringify(m.metadata)]),
  );
}

/** Parses `k=v` pairs into metadata; numbers and booleans are typed. */
export function parseMeta(pairs: string[]): Record<string, string | number | boolean> {
  const metadata: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--meta expects key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    metadata[key] =
      raw === "true"
        ? true
        : raw === "false"
          ? false
          : raw !== "" && Number.isFinite(Number(raw))
            ? Number(raw)
            : raw;
  }
  return metadata;
}

/** A configuration entry as plain JSON (the version as a decimal string, the time as ISO 8601). */
export function entryJson(entry: ConfigEntry): Record<string, unknown> {
  return {
    key: entry.key,
    value: entry.value,
    version: entry.version.toString(),
    updatedAt: entry.updatedAt.toISOString(),
  };
}

/** A configuration event as plain JSON, stamped with the time it was seen. */
export function configEventJson(event: ConfigEvent, at = new Date()): Record<string, unknown> {
  const base = { at: at.toISOString(), type: event.type, config: event.config };
  switch (event.type) {
    case "snapshot":
      return { ...base, revision: event.revision.toString(), entries: event.entries.map(entryJson) };
    case "put":
      return { ...base, entry: entryJson(event.entry), ...(event.resync ? { resync: true } : {}) };
    case "delete":
      return {
        ...base,
        key: event.key,
        revision: event.revision.toString(),
        ...(event.resync ? { resync: true } : {}),
      };
  }
}

/** A configuration event as one human line. */
export function configEventLine(event: ConfigEvent, at = new Date()): string {
  const time = at.toISOString().slice(11, 23);
  switch (event.type) {
    case "snapshot":
      return `${time}  snapshot  ${event.entries.length} ${event.entries.length === 1 ? "entry" : "entries"} at revision ${event.revision}`;
    case "put":
      return `${time}  put       ${event.entry.key} = ${JSON.stringify(event.entry.value)} (version ${event.entry.version})${event.resync ? " (resync)" : ""}`;
    case "delete":
      return `${time}  delete    ${event.key} (revision ${event.revision})${event.resync ? " (resync)" : ""}`;
  }
}

/** Configuration entries as a table. */
export function entriesTable(entries: ConfigEntry[]): string {
  return table(
    ["KEY", "VERSION", "UPDATED", "VALUE"],
    entries.map((e) => [e.key, e.version.toString(), e.updatedAt.toISOString(), JSON.stringify(e.value)]),
  );
}
