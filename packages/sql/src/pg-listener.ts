import { backoff, type Logger } from "@rollcall/core/driver";
import pg from "pg";

/** What a subscription to a channel is told. */
export interface PgListenerHandlers {
  /** A NOTIFY on the channel; the payload is the group whose change log grew. */
  notify(group: string): void;
  /** The LISTEN connection was lost and is back: notifications may have been missed meanwhile. */
  reconnected(): void;
}

/** One subscription: {@link PgListenerSubscription.close} ends it (the last one closes the connection). */
export interface PgListenerSubscription {
  close(): Promise<void>;
}

/** The listeners of this process, one per database and connection settings. */
const listeners = new Map<string, PgListener>();

/**
 * Subscribes `handlers` to `channel` on the process's LISTEN connection to the database `config` names,
 * making the connection if needed (one per process and database, whatever the number of coordinators and
 * namespaces: each channel is LISTENed once and its notifications are handed to every subscriber).
 * Rejects if the connection or the LISTEN fails; nothing is left subscribed then.
 */
export async function subscribePg(
  config: pg.ClientConfig,
  channel: string,
  handlers: PgListenerHandlers,
  logger: Logger,
): Promise<PgListenerSubscription> {
  if (!/^[a-z0-9_]{1,63}$/.test(channel)) throw new Error("invalid channel name");
  const key = JSON.stringify(config);
  let listener = listeners.get(key);
  if (listener === undefined) {
    listener = new PgListener(config, logger, () => {
      if (listeners.get(key) === listener) listeners.delete(key);
    });
    listeners.set(key, listener);
  }
  return listener.subscribe(channel, handlers);
}

/**
 * One dedicated PostgreSQL connection that LISTENs on the channels of its subscribers. NOTIFY is only the
 * wake-up: watchers read the change log from their cursor, so a notification lost while this connection
 * was down costs nothing but a re-read after {@link PgListenerHandlers.reconnected}.
 */
class PgListener {
  private client: pg.Client | undefined;
  /** The connection being made, while it is. */
  private connecting: Promise<pg.Client> | undefined;
  private readonly channels = new Map<string, Set<PgListenerHandlers>>();
  /** Channels LISTENed on the current connection. */
  private listening = new Set<string>();
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: Logger,
    private readonly onClosed: () => void,
  ) {}

  async subscribe(channel: string, handlers: PgListenerHandlers): Promise<PgListenerSubscription> {
    let set = this.channels.get(channel);
    if (set === undefined) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(handlers);
    const unsubscribe = async () => {
      const current = this.channels.get(channel);
      if (current === undefined || !current.delete(handlers)) return;
      if (current.size > 0) return;
      this.channels.delete(channel);
      if (this.channels.size === 0) {
        await this.close();
        return;
      }
      const client = this.client;
      if (client !== undefined && this.listening.delete(channel))
        await client.query(`UNLISTEN ${channel}`).catch(() => {});
    };
    try {
      const client = this.client ?? (await this.connect());
      if (!this.listening.has(channel)) {
        await client.query(`LISTEN ${channel}`);
        this.listening.add(channel);
      }
    } catch (error) {
      await unsubscribe();
      throw error;
    }
    return { close: unsubscribe };
  }

  /** The connection, made once for however many subscribers ask at the same time. */
  private connect(): Promise<pg.Client> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    let lost = false;
    // Only a connection that was up (and LISTENing) is re-made from here: a failed attempt is reported
    // to its caller (subscribe() rejects, scheduleReconnect tries again). Reconnecting from an attempt
    // that failed too would leave a second, unowned listener behind that nobody ever closes.
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
      if (message.payload === undefined) return;
      const payload = message.payload;
      for (const handlers of [...(this.channels.get(message.channel) ?? [])]) handlers.notify(payload);
    });
    const channels = [...this.channels.keys()];
    try {
      await client.connect();
      for (const channel of channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lost = true;
      void client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      throw new Error("the LISTEN connection was closed");
    }
    established = true;
    this.client = client;
    this.listening = new Set(channels);
    this.attempt = 0;
    return client;
  }

  private scheduleReconnect(): void {
    if (this.retry !== undefined || this.closed) return;
    const wait = backoff(this.attempt++, { initial: 100, max: 2000, jitter: 0.2 });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.closed) return;
      this.connect().then(
        () => {
          if (this.closed) return;
          for (const set of [...this.channels.values()])
            for (const handlers of [...set]) handlers.reconnected();
        },
        () => this.scheduleReconnect(),
      );
    }, wait);
    this.retry.unref?.();
  }

  /** Stops listening and closes the connection (its last subscriber left). */
  private async close(): Promise<void> {
    this.closed = true;
    this.onClosed();
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    if (client) await client.end().catch(() => {});
  }
}
