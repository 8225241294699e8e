import { backoff, type Logger } from "@rollcall/core/driver";
import pg from "pg";

/** What a {@link PgListener} reports. */
export interface PgListenerHandlers {
  /** A NOTIFY on the channel; the payload is the group whose change log grew. */
  notify(group: string): void;
  /** The LISTEN connection was lost and is back: notifications may have been missed meanwhile. */
  reconnected(): void;
}

/**
 * One dedicated PostgreSQL connection that LISTENs on a namespace's channel. NOTIFY is only the
 * wake-up: watchers read the change log from their cursor, so a notification lost while this
 * connection was down costs nothing but a re-read after {@link PgListenerHandlers.reconnected}.
 */
export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(
    private readonly config: pg.ClientConfig,
    /** The channel: a hex digest, so safe as an identifier. */
    private readonly channel: string,
    private readonly handlers: PgListenerHandlers,
    private readonly logger: Logger,
  ) {
    if (!/^[a-z0-9_]{1,63}$/.test(channel)) throw new Error("invalid channel name");
  }

  /** Connects and LISTENs; rejects if the first connection fails. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    let lost = false;
    // Only a connection that was up (and LISTENing) is re-made from here: a failed attempt is reported
    // to its caller (start() rejects, scheduleReconnect tries again). Reconnecting from an attempt that
    // failed too would leave a second, unowned listener behind that nobody ever closes.
    let established = false;
    const onLost = (error?: Error) => {
      if (lost || !established) return;
      lost = true;
      client.removeAllListeners("notification");
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => {});
      if (this.closed) return;
      this.logger.warn("the LISTEN connection to postgresql was lost; reconnecting", {
        error: error?.message,
      });
      this.scheduleReconnect();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (message) => {
      if (message.channel === this.channel && message.payload !== undefined)
        this.handlers.notify(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      lost = true;
      void client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    established = true;
    this.client = client;
    this.attempt = 0;
  }

  private scheduleReconnect(): void {
    if (this.retry !== undefined || this.closed) return;
    const wait = backoff(this.attempt++, { initial: 100, max: 2000, jitter: 0.2 });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.closed) return;
      this.connect().then(
        () => {
          if (!this.closed) this.handlers.reconnected();
        },
        () => this.scheduleReconnect(),
      );
    }, wait);
    this.retry.unref?.();
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => {});
  }
}
