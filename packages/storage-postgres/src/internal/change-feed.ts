import {
  type ChangeFeedHooks,
  type ChangeFeedTransport,
  settlesWithin,
} from '@canary-rollout/core/store-kit';
import pg from 'pg';

/**
 * `LISTEN` on a connection of its own, made anew by every `listen` (the feed decides when). A
 * notification's payload is the committed version.
 */
export class ListenTransport implements ChangeFeedTransport {
  private client: pg.Client | undefined;
  private closed = false;

  constructor(
    /** Settings of the dedicated connection. */
    private readonly config: pg.ClientConfig,
    /** The channel commits notify (named after schema and namespace, never after a user). */
    private readonly channel: string,
    /** Bound for connecting and `LISTEN`. */
    private readonly connectTimeoutMs: number,
    /** Bound for closing. */
    private readonly timeoutMs: number,
  ) {}

  async listen(hooks: ChangeFeedHooks): Promise<void> {
    const client = new pg.Client(this.config);
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      client.end().catch(() => {});
      // A connection dropped or still being set up is not the one listening.
      if (this.client !== client) return;
      this.client = undefined;
      hooks.lost();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel !== this.channel) return;
      const version = Number(message.payload);
      if (Number.isSafeInteger(version)) hooks.notified(version);
    });
    try {
      const work = (async () => {
        await client.connect();
        await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
      })();
      work.catch(() => {});
      if (!(await settlesWithin(work, this.connectTimeoutMs))) {
        throw new Error(`no answer from PostgreSQL within ${this.connectTimeoutMs} ms (connectTimeoutMs)`);
      }
      if (lost) throw new Error('the LISTEN connection closed while it was set up');
    } catch (error) {
      lost = true;
      client.removeAllListeners('end');
      client.on('error', () => {});
      client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  async ping(): Promise<void> {
    await this.client?.query('SELECT 1');
  }

  drop(): void {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) destroy(client);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    const ended = client.end().catch(() => {});
    if (!(await settlesWithin(ended, this.timeoutMs).catch(() => true))) destroy(client);
  }
}

/** Closes the socket under `client` at once (`end()` waits for an answer a silent server never gives). */
function destroy(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
