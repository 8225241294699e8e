import type { ConnectionUrl, Logger } from "@rollcall/core/driver";
import { RollcallError } from "@rollcall/core/driver";
import type { Layout } from "./layout.js";
import { CreateFlag, Rc } from "./zk-binding.js";
import { errorText, type ZkSession } from "./zk-session.js";
import { ensureZnode, removeTree } from "./znodes.js";

/**
 * Writing and garbage-collecting a group's journal (`/<ns>/.journal/<group>/`): leave intents and
 * update records are persistent sequential znodes; whoever writes to a group's journal also removes
 * its records older than the retention, at most every half retention per group and session, using
 * the server's clock (znode ctimes) so client clocks do not matter.
 */
export class Journal {
  private readonly lastSweep = new Map<string, number>();

  constructor(
    private readonly layout: Layout,
    private readonly owned: boolean,
    /** How long records are kept, in ms. */
    readonly retention: number,
    private readonly logger: Logger,
  ) {}

  /** Creates the journal of `group` (and the journal root) if missing. Resolves with an rc. */
  async ensure(session: ZkSession, group: string): Promise<number> {
    const rc = await ensureZnode(session, this.layout.journalRoot, this.owned);
    return rc === Rc.OK ? ensureZnode(session, this.layout.journal(group), this.owned) : rc;
  }

  /** Appends a record (`prefix` gets the sequence number), creating the journal on first use. */
  async append(session: ZkSession, group: string, prefix: string, data: Buffer): Promise<number> {
    let created = await session.create(prefix, data, CreateFlag.PERSISTENT_SEQUENTIAL);
    if (created.rc === Rc.NONODE) {
      const rc = await this.ensure(session, group);
      if (rc !== Rc.OK) return rc;
      created = await session.create(prefix, data, CreateFlag.PERSISTENT_SEQUENTIAL);
    }
    return created.rc;
  }

  /** Removes the journal of a deleted group. Best effort. */
  remove(session: ZkSession, group: string): Promise<void> {
    return removeTree(session, this.layout.journal(group)).catch(() => {});
  }

  /** Sweeps the group's old records in the background if it is time. `serverNow`: a ctime/mtime just seen. */
  sweepSoon(session: ZkSession, group: string, serverNow = 0): void {
    const now = performance.now();
    if (now - (this.lastSweep.get(group) ?? Number.NEGATIVE_INFINITY) < this.retention / 2) return;
    this.lastSweep.set(group, now);
    void this.sweep(session, group, serverNow).catch((error: unknown) => {
      this.logger.debug("sweeping the journal failed", { group, error: errorText(error) });
    });
  }

  /** Forgets when each group was swept (a new session sweeps again). */
  reset(): void {
    this.lastSweep.clear();
  }

  private async sweep(session: ZkSession, group: string, serverNow: number): Promise<void> {
    const journal = this.layout.journal(group);
    const listed = await session.children(journal);
    if (!listed.ok) return;
    const names = listed.value.children;
    const stats = await Promise.all(names.map((name) => session.exists(`${journal}/${name}`)));
    // Server time: what the caller just wrote, or the newest record (a leave has just written one).
    let newest = serverNow;
    for (const s of stats) if (s.ok) newest = Math.max(newest, s.value.ctime.getTime());
    const cutoff = newest - this.retention;
    await Promise.all(
      names.map((name, i) => {
        const s = stats[i];
        return s?.ok && s.value.ctime.getTime() < cutoff ? session.delete(`${journal}/${name}`) : undefined;
      }),
    );
  }
}

/** `journalRetention` from the URL, or the default: max(60 s, 10 × sessionTimeout). */
export function journalRetention(url: ConnectionUrl, sessionTimeout: number): number {
  const raw = url.params.get("journalRetention");
  if (raw === null) return Math.max(60_000, 10 * sessionTimeout);
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < 1000 || n > 86_400_000) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: journalRetention must be an integer from 1000 to 86400000 (ms), got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}
