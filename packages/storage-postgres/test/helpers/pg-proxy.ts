import { createServer, type Server, Socket } from 'node:net';

/** One client connection through the proxy and its upstream. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
}

/**
 * A loopback TCP proxy in front of PostgreSQL that the test controls, for outages without
 * stopping the shared server:
 * - `cut()` closes every connection and refuses new ones until `restore()`;
 * - `cutConnections()` closes the current connections only (new ones are let through);
 * - `stall()` keeps connections open but forwards nothing (a network dropping packets); what was
 *   sent is delivered on `restore()`, as TCP would;
 * - `slow(ms)` forwards everything after `ms` each way.
 */
export class PgProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private state: 'open' | 'cut' | 'stall' = 'open';
  private delayMs = 0;
  private readonly held: (() => void)[] = [];
  port = 0;
  /** Connections accepted since the start. */
  accepted = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    this.server = server;
    return this;
  }

  /** Connections open through the proxy now. */
  get open(): number {
    return this.links.size;
  }

  cut(): void {
    this.state = 'cut';
    this.cutConnections();
  }

  /** Closes the connections open now; the proxy keeps accepting new ones. */
  cutConnections(): void {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
  }

  stall(): void {
    this.state = 'stall';
  }

  slow(ms: number): void {
    this.delayMs = ms;
  }

  restore(): void {
    this.state = 'open';
    this.delayMs = 0;
    for (const deliver of this.held.splice(0)) deliver();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (this.state === 'cut') {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = new Socket();
    const link: Link = { client, upstream };
    this.links.add(link);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.links.delete(link);
    };
    upstream.connect(this.targetPort, this.targetHost);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
    for (const socket of [client, upstream]) {
      socket.on('close', drop);
      socket.on('error', drop);
    }
  }

  private pipe(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      const deliver = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (this.state === 'stall') this.held.push(deliver);
      else if (this.delayMs > 0) setTimeout(deliver, this.delayMs);
      else deliver();
    });
  }
}
