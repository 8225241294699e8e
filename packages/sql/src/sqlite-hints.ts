import { type FSWatcher, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "@rollcall/core/driver";

/**
 * Change hints for SQLite (`Driver.changeHints`): every process that shares the database is on this host,
 * so a write by any of them — to the database file or to its write-ahead log — is a file-system
 * notification here (inotify on Linux). One watch of the file's directory per driver, opened while some
 * feed listens; a notification only makes core read the change log at once, so a spurious one costs a
 * read and a lost one is caught by the next poll.
 */
export class SqliteChangeHints {
  private watcher: FSWatcher | undefined;
  private readonly listeners = new Set<() => void>();
  private directory = "";
  private base = "";

  constructor(
    /** The database file (read on first use: a bad URL is reported by `open()`, not here). */
    private readonly file: () => string,
    private readonly logger: Logger,
  ) {}

  /** Whether some feed listens (the driver then reaps overdue sessions on time, see `noteNextDeadline`). */
  get watching(): boolean {
    return this.listeners.size > 0;
  }

  /** Calls `listener` on every write to the database or its WAL, until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  private start(): void {
    if (this.watcher !== undefined) return;
    try {
      const path = resolve(this.file());
      this.directory = dirname(path);
      this.base = basename(path);
      this.watcher = watch(this.directory, { persistent: false }, (_event, name) => {
        // The database itself and `-wal` (the shared-memory index changes by mmap, which notifies nothing).
        if (name !== this.base && name !== `${this.base}-wal`) return;
        for (const listener of [...this.listeners]) listener();
      });
      this.watcher.on("error", (error) => {
        this.logger.debug("watching the SQLite file failed; polling only", { error: error.message });
        this.close();
      });
    } catch (error) {
      this.logger.debug("cannot watch the SQLite file; polling only", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Stops watching (the driver closes, or nobody listens). */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
