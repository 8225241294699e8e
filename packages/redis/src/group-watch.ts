import { groupNotFound, type WatchListener } from "@rollcall/core/driver";
import { type LogRead, LogWatch } from "./log-watch.js";
import type { ChangeMessage } from "./records.js";

/** What the `changes` script reports about a group's change log after a revision. */
export interface ChangeLogReply extends LogRead<ChangeMessage> {
  /** False when the group does not exist. */
  exists: boolean;
  /** Revision at which the group was created. */
  created: bigint;
}

/** Reads a group's change log after a revision. */
export type ChangeLogReader = (group: string, afterRevision: bigint) => Promise<ChangeLogReply>;

/**
 * One push watch of a group (see {@link LogWatch}): besides a trimmed log and lost data, the group's
 * deletion or re-creation after the cursor ends continuity, and a watch of a missing group is refused
 * with `GROUP_NOT_FOUND`.
 */
export class GroupWatch extends LogWatch<ChangeMessage, ChangeLogReply> {
  constructor(
    readonly group: string,
    fromRevision: bigint,
    private readonly listener: WatchListener,
    read: ChangeLogReader,
    release: () => void,
  ) {
    super(fromRevision, listener, (after) => read(group, after), release);
  }

  protected deliver(message: ChangeMessage): void {
    if (message.kind === "event") this.listener.event(message.event);
  }

  protected override endsAt(message: ChangeMessage): string | undefined {
    return message.kind === "deleted" ? `group ${this.group} was deleted` : undefined;
  }

  protected override refuse(reply: ChangeLogReply): Error | undefined {
    return reply.exists ? undefined : groupNotFound(this.group);
  }

  protected override discontinuity(reply: ChangeLogReply): string | undefined {
    if (!reply.exists) return `group ${this.group} no longer exists`;
    if (reply.created > this.cursor)
      return `group ${this.group} was re-created after revision ${this.cursor}`;
    return undefined;
  }
}
