import type { ConfigWatchListener } from "@rollcall/core/driver";
import { type ConfigMessage, changedKey } from "./config-records.js";
import { type LogRead, LogWatch } from "./log-watch.js";

/** What the `configChanges` script reports about a store's change log after a revision. */
export type ConfigLogReply = LogRead<ConfigMessage>;

/**
 * One push watch of a configuration store under a prefix (see {@link LogWatch}): the cursor follows
 * the store's revisions, every change of the store moves it, and the changes under the prefix are
 * handed to the listener in commit order. A trimmed log or lost data ends continuity; the store never
 * "disappears" (its log and state outlive its last entry).
 */
export class ConfigWatch extends LogWatch<ConfigMessage, ConfigLogReply> {
  constructor(
    readonly store: string,
    private readonly prefix: string,
    fromRevision: bigint,
    private readonly listener: ConfigWatchListener,
    read: (afterRevision: bigint) => Promise<ConfigLogReply>,
    release: () => void,
  ) {
    super(fromRevision, listener, read, release);
  }

  protected deliver(message: ConfigMessage): void {
    if (changedKey(message.change).startsWith(this.prefix)) this.listener.change(message.change);
  }
}
