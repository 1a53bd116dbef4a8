import type { StoreChange } from '@canary-rollout/core';
import { type RedisClient, withDeadline } from './commands';

/** What the feed needs from the store. */
export interface ChangeFeedOptions {
  /** A connection of the feed's own, used only for pub/sub (it is closed by `stop`). */
  readonly subscriber: RedisClient;
  readonly channel: string;
  /** This handle's id in change messages, so its own changes are not reported back to it. */
  readonly origin: string;
  /** Reads the stored state version through the store's command connection. */
  readonly readVersion: () => Promise<number>;
  readonly emit: (change: StoreChange) => void;
  /** How often the version is polled and the subscription pinged; 0 turns both off. */
  readonly pollIntervalMs: number;
  /** Bound for the subscribe, ping and version round trips. */
  readonly timeoutMs: number;
  /** Called when a periodic version read fails (the store may restart a stalled connection). */
  readonly onPollFailure?: (error: unknown) => void;
}

const RESYNC_RETRY_MS = 200;
const RESYNC_ATTEMPTS = 25;

/**
 * Hears changes published on the namespace channel. Pub/sub drops what is published while a
 * subscriber is disconnected, so after every reconnect the feed resubscribes and then compares
 * the stored version with the last one it knows: a change made meanwhile is reported once.
 */
export class ChangeFeed {
  private known = -1;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private everReady = false;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** Connects and subscribes; rejects when that does not happen within `timeoutMs`. */
  async start(timeoutMs: number): Promise<void> {
    const { subscriber, channel } = this.options;
    subscriber.on('error', () => {
      // Connection errors show up as failed calls and a resync after reconnect.
    });
    subscriber.on('message', this.onMessage);
    subscriber.on('ready', this.onReady);
    if (subscriber.status === 'wait') subscriber.connect().catch(() => {});
    await withDeadline(waitReady(subscriber), timeoutMs, 'subscribe');
    await withDeadline(subscriber.subscribe(channel), timeoutMs, 'subscribe');
    this.everReady = true;
    if (this.options.pollIntervalMs > 0) {
      this.timer = setInterval(() => void this.check(), this.options.pollIntervalMs);
      this.timer.unref();
    }
  }

  /** Sets the version the handle starts from (read after subscribing, so nothing falls between). */
  startFrom(version: number): void {
    if (version > this.known) this.known = version;
  }

  /** Unsubscribes and closes the feed's connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    const { subscriber } = this.options;
    subscriber.off('message', this.onMessage);
    subscriber.off('ready', this.onReady);
    subscriber.disconnect();
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.options.channel) return;
    const space = message.indexOf(' ');
    const version = Number(space < 0 ? message : message.slice(0, space));
    if (!Number.isSafeInteger(version)) return;
    const own = space >= 0 && message.slice(space + 1) === this.options.origin;
    const moved = version !== this.known;
    this.known = version;
    if (!own && moved) this.options.emit({ version });
  };

  private readonly onReady = (): void => {
    // The first 'ready' belongs to start(); later ones follow a reconnect.
    if (!this.everReady || this.stopped) return;
    void this.afterReconnect(0);
  };

  private async afterReconnect(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      // Subscribe again and wait for the reply: only then can no change fall between the
      // version read below and the next published message.
      await withDeadline(
        this.options.subscriber.subscribe(this.options.channel),
        this.options.timeoutMs,
        'subscribe',
      );
      await this.resync();
    } catch {
      if (attempt + 1 >= RESYNC_ATTEMPTS || this.stopped) return;
      clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.afterReconnect(attempt + 1), RESYNC_RETRY_MS);
      this.retry.unref();
    }
  }

  /** Reports a change when the stored version differs from the last one heard of. */
  private async resync(): Promise<void> {
    const version = await withDeadline(this.options.readVersion(), this.options.timeoutMs, 'readVersion');
    if (this.stopped || version === this.known) return;
    this.known = version;
    this.options.emit({ version });
  }

  private async check(): Promise<void> {
    const { subscriber, timeoutMs } = this.options;
    if (subscriber.status === 'ready' && !subscriber.isCluster) {
      try {
        await withDeadline(subscriber.ping(), timeoutMs, 'ping');
      } catch {
        // A half-open connection answers nothing and reports no error: start a new one.
        if (!this.stopped) subscriber.disconnect(true);
        return;
      }
    }
    await this.resync().catch((error: unknown) => {
      if (!this.stopped) this.options.onPollFailure?.(error);
    });
  }
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
