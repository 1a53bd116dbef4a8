import { createServer, type Server, Socket } from 'node:net';

/** One client connection through the proxy and its upstream. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, for outages of one client while others keep
 * working (the server itself is not stopped):
 * - `cut()` closes every connection and refuses new ones until `restore()`;
 * - `cutConnections()` closes the connections open now (new ones are let through);
 * - `stall()` keeps connections open but forwards nothing (a network dropping packets); what was
 *   sent is delivered on `restore()`, as TCP would;
 * - `dropReplies()` forwards requests but throws the server's replies away (a reply lost on the
 *   way back);
 * - `slow(ms)` forwards everything after `ms` each way.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private state: 'open' | 'cut' | 'stall' | 'drop-replies' = 'open';
  private delayMs = 0;
  private readonly held: (() => void)[] = [];
  /** The port it listens on (after `start()`). */
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

  /** `<scheme>://127.0.0.1:<port>`, e.g. `url('redis')`. */
  url(scheme: string): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  /** Connections open through the proxy now. */
  get open(): number {
    return this.links.size;
  }

  cut(): void {
    this.state = 'cut';
    this.cutConnections();
  }

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

  dropReplies(): void {
    this.state = 'drop-replies';
  }

  slow(ms: number): void {
    this.delayMs = ms;
  }

  /** Back to forwarding everything at once; what a stall held is delivered. */
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
    this.pipe(client, upstream, false);
    this.pipe(upstream, client, true);
    for (const socket of [client, upstream]) {
      socket.on('close', drop);
      socket.on('error', drop);
    }
  }

  private pipe(from: Socket, to: Socket, replies: boolean): void {
    from.on('data', (chunk: Buffer) => {
      const deliver = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (this.state === 'stall') this.held.push(deliver);
      else if (this.state === 'drop-replies' && replies) return;
      else if (this.delayMs > 0) setTimeout(deliver, this.delayMs);
      else deliver();
    });
  }
}
