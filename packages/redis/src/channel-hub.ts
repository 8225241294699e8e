import type { Logger } from "@rollcall/core/driver";
import type { Redis } from "ioredis";

/** Something that receives the messages published on a channel (a watch, an awaitGone). */
export interface ChannelSubscriber<M> {
  /** A message published on the channel. */
  message(message: M): void;
  /** The connection was lost: messages may be missed from now on. */
  interrupted(): void;
  /** The connection is back and the channel subscribed again: catch up without trusting pub/sub. */
  resumed(): void;
}

/** One kind of channel: how a topic (a group, a configuration store) maps to a channel, and its messages. */
export interface ChannelTopic<M> {
  /** What the topics are, for log messages ("group", "configuration"). */
  readonly what: string;
  /** The channel of a topic. */
  channel(topic: string): string;
  /** The topic whose channel this is, or undefined for a channel of another kind. */
  topicOf(channel: string): string | undefined;
  /** Decodes a published message; throws on a malformed one. */
  decode(topic: string, text: string): M;
}

interface Channel<M> {
  subscribers: Set<ChannelSubscriber<M>>;
  subscribed: Promise<void>;
}

/**
 * The pub/sub side of a coordinator's connection for one kind of channel: one `SUBSCRIBE` per channel
 * however many watches and waiters share it, messages decoded once and handed to each, and — after a
 * reconnect — every channel subscribed again *before* its subscribers are told to catch up, so nothing
 * published in between can be missed.
 */
export class ChannelHub<M> {
  private readonly channels = new Map<string, Channel<M>>();

  constructor(
    private readonly topic: ChannelTopic<M>,
    private readonly client: () => Redis | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Adds a subscriber to a topic's channel, subscribing first if it is the channel's first. Resolves
   * with the function that removes it again (unsubscribing after the last one).
   */
  async subscribe(client: Redis, topic: string, subscriber: ChannelSubscriber<M>): Promise<() => void> {
    const name = this.topic.channel(topic);
    let channel = this.channels.get(name);
    if (!channel) {
      const created: Channel<M> = { subscribers: new Set(), subscribed: Promise.resolve() };
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

  /** A message from the connection (on any channel: those of other kinds are ignored). */
  dispatch(channelName: string, text: string): void {
    const channel = this.channels.get(channelName);
    const topic = this.topic.topicOf(channelName);
    if (!channel || topic === undefined) return;
    let message: M;
    try {
      message = this.topic.decode(topic, text);
    } catch (error) {
      this.logger.warn("ignoring a malformed change message", {
        [this.topic.what]: topic,
        error: String(error),
      });
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
  subscribers(): ChannelSubscriber<M>[] {
    return [...this.channels.values()].flatMap((channel) => [...channel.subscribers]);
  }

  /** Forgets every channel (the connection is being closed). */
  clear(): void {
    this.channels.clear();
  }
}
