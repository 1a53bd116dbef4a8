import type { ChangeFeedHooks, ChangeFeedTransport } from '@canary-rollout/core/store-kit';
import { type RedisClient, withDeadline } from './commands';

/**
 * Pub/sub on the namespace channel, on a connection of its own that ioredis reconnects. Redis
 * forgets a subscription with its connection, so every `ready` after the first reports it lost:
 * the feed subscribes again and reads the version. Messages are `<version> <origin>`.
 */
export class PubSubTransport implements ChangeFeedTransport {
  private hooks: ChangeFeedHooks | undefined;
  private subscribed = false;

  constructor(
    /** Used only for pub/sub, and closed by `close`. */
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    /** Bound for the SUBSCRIBE round trip. */
    private readonly timeoutMs: number,
  ) {
    subscriber.on('error', () => {
      // Connection errors show up as failed calls and a subscription lost on the next 'ready'.
    });
  }

  async listen(hooks: ChangeFeedHooks): Promise<void> {
    const { subscriber } = this;
    if (this.hooks === undefined) {
      this.hooks = hooks;
      subscriber.on('message', this.onMessage);
      subscriber.on('ready', this.onReady);
    }
    if (subscriber.status === 'wait') subscriber.connect().catch(() => {});
    await waitReady(subscriber);
    // Only once SUBSCRIBE is answered can no change fall between it and the version read next.
    await withDeadline(subscriber.subscribe(this.channel), this.timeoutMs, 'subscribe');
    this.subscribed = true;
  }

  async ping(): Promise<void> {
    // A cluster's subscriber is several connections that ioredis watches itself.
    if (this.subscriber.status === 'ready' && !this.subscriber.isCluster) await this.subscriber.ping();
  }

  drop(): void {
    this.subscriber.disconnect(true);
  }

  async close(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('ready', this.onReady);
    this.subscriber.disconnect();
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    const space = message.indexOf(' ');
    const version = Number(space < 0 ? message : message.slice(0, space));
    if (Number.isSafeInteger(version))
      this.hooks?.notified(version, space < 0 ? undefined : message.slice(space + 1));
  };

  private readonly onReady = (): void => {
    // The first 'ready' belongs to the first subscription; later ones follow a reconnect.
    if (this.subscribed) this.hooks?.lost();
  };
}

/** Resolves when `client` is ready; rejects when it ends first. */
export function waitReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onReady = () => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off('ready', onReady);
      reject(new Error('connection ended'));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}
