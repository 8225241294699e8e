import type { Logger } from "@rollcall/core/driver";
import type { Redis } from "ioredis";
import type { ChannelSubscriber } from "./group-watch.js";
import type { KeySpace } from "./key-space.js";
import { type ChangeMessage, decodeChange } from "./records.js";

interface Channel {
  subscribers: Set<ChannelSubscriber>;
  subscribed: Promise<void>;
}

/**
 * The pub/sub side of a coordinator's connection: one `SUBSCRIBE` per group channel however many
 * watches and waiters share it, messages decoded once and handed to each, and — after a reconnect —
 * every channel subscribed again *before* its subscribers are told to catch up, so nothing published
 * in between can be missed.
 */
export class ChannelHub {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly keys: KeySpace,
    private readonly client: () => Redis | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Adds a subscriber to a group's channel, subscribing first if it is the channel's first. Resolves
   * with the function that removes it again (unsubscribing after the last one).
   */
  async subscribe(client: Redis, group: string, subscriber: ChannelSubscriber): Promise<() => void> {
    const name = this.keys.channel(group);
    let channel = this.channels.get(name);
    if (!channel) {
      const created: Channel = { subscribers: new Set(), subscribed: Promise.resolve() };
      created.subscribed = client.subscribe(name).then(
        () => undefined,
        (error: unknown) => {
          if (this.channels.get(name) === created) this.channels.delete(name);
          throw error;
        },
      );
      this.channels.set(name, created);
      channel = created;
    }
    channel.subscribers.add(subscriber);
    try {
      await channel.subscribed;
    } catch (error) {
      channel.subscribers.delete(subscriber);
      throw error;
    }
    const current = channel;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      current.subscribers.delete(subscriber);
      if (current.subscribers.size === 0 && this.channels.get(name) === current) {
        this.channels.delete(name);
        const live = this.client();
        if (live?.status === "ready") live.unsubscribe(name).catch(() => {});
      }
    };
  }

  /** A message from the connection. */
  dispatch(channelName: string, text: string): void {
    const channel = this.channels.get(channelName);
    const group = this.keys.groupOfChannel(channelName);
    if (!channel || group === undefined) return;
    let message: ChangeMessage;
    try {
      message = decodeChange(group, text);
    } catch (error) {
      this.logger.warn("ignoring a malformed change message", { group, error: String(error) });
      return;
    }
    for (const subscriber of [...channel.subscribers]) subscriber.message(message);
  }

  /** The connection dropped: subscribers stop trusting pub/sub. */
  interrupted(): void {
    for (const channel of this.channels.values())
      for (const subscriber of channel.subscribers) subscriber.interrupted();
  }

  /** The connection is back: subscribe every channel again, then let the subscribers catch up. */
  async resumed(client: Redis): Promise<void> {
    const names = [...this.channels.keys()];
    if (names.length > 0) {
      try {
        await client.subscribe(...names);
      } catch (error) {
        this.logger.debug("re-subscribing failed; waiting for the next reconnect", { error: String(error) });
        return;
      }
    }
    for (const channel of this.channels.values())
      for (const subscriber of [...channel.subscribers]) subscriber.resumed();
  }

  /** Every subscriber, for closing them all. */
  subscribers(): ChannelSubscriber[] {
    return [...this.channels.values()].flatMap((channel) => [...channel.subscribers]);
  }

  /** Forgets every channel (the connection is being closed). */
  clear(): void {
    this.channels.clear();
  }
}
