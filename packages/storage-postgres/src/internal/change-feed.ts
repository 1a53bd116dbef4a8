import pg from 'pg';
import { within } from './connection';

/** What a `ChangeFeed` needs from its store. */
export interface ChangeFeedOptions {
  /** Settings of the dedicated `LISTEN` connection. */
  readonly config: pg.ClientConfig;
  /** The channel commits notify (named after schema and namespace, never after a user). */
  readonly channel: string;
  /** The store version, read through the pool. */
  readonly readVersion: () => Promise<number>;
  /** A version named by a notification. */
  readonly onNotified: (version: number) => void;
  /** The version read after a reconnect or on a poll: changes in between may have been missed. */
  readonly onChecked: (version: number) => void;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** Reconnect delays of the `LISTEN` connection: quick at first, then at most every 2 s. */
const BACKOFF_MS = [20, 50, 100, 250, 500, 1000, 2000];

/**
 * Changes of other handles through `LISTEN` on a connection of its own. After every reconnect
 * the store version is read, so a change notified while the connection was away is not missed;
 * a poll reads the version and pings the connection, catching a connection that went silent.
 */
export class ChangeFeed {
  private client: pg.Client | undefined;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** Number of connections made, for tests and diagnostics. */
  connects = 0;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** Connects and listens; rejects when that fails within the connect timeout. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
    if (this.options.pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
      this.pollTimer.unref?.();
    }
  }

  /** True while the `LISTEN` connection is up. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pollTimer);
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      const ended = client.end().catch(() => {});
      if (!(await within(ended, this.options.timeoutMs).catch(() => true))) {
        (
          client as unknown as { connection?: { stream?: { destroy(): void } } }
        ).connection?.stream?.destroy();
      }
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.options.config);
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel !== this.options.channel) return;
      const version = Number(message.payload);
      if (Number.isSafeInteger(version)) this.options.onNotified(version);
    });
    try {
      const work = (async () => {
        await client.connect();
        await client.query(`LISTEN ${quoteChannel(this.options.channel)}`);
      })();
      work.catch(() => {});
      if (!(await within(work, this.options.connectTimeoutMs))) {
        throw new Error(
          `no answer from PostgreSQL within ${this.options.connectTimeoutMs} ms (connectTimeoutMs)`,
        );
      }
    } catch (error) {
      lost = true;
      client.removeAllListeners('end');
      client.on('error', () => {});
      client.end().catch(() => {});
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connects++;
    this.attempt = 0;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? 2000;
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
    this.reconnectTimer.unref?.();
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.connect();
    } catch {
      this.scheduleReconnect();
      return;
    }
    // Listening again: whatever was committed while away is caught by the version.
    await this.check();
  }

  private async check(): Promise<void> {
    try {
      const version = await this.options.readVersion();
      if (!this.stopped) this.options.onChecked(version);
    } catch {
      // The store is unreachable; the next poll or reconnect reads the version again.
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const client = this.client;
      if (client !== undefined) {
        // A connection that stopped answering without closing (a half-open TCP connection)
        // would hear nothing until the OS gives up on it; a new one recovers sooner.
        const ping = client.query('SELECT 1');
        ping.catch(() => {});
        let alive = false;
        try {
          alive = await within(ping, this.options.timeoutMs);
        } catch {
          alive = false;
        }
        if (!alive && this.client === client) {
          this.client = undefined;
          (
            client as unknown as { connection?: { stream?: { destroy(): void } } }
          ).connection?.stream?.destroy();
          this.scheduleReconnect();
        }
      }
      await this.check();
    } finally {
      this.polling = false;
    }
  }
}

function quoteChannel(channel: string): string {
  return `"${channel.replaceAll('"', '""')}"`;
}
