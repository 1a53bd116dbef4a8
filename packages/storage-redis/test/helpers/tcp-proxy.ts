import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, to cut one client off while others keep
 * working: `down()` drops every connection and refuses new ones, `stall()` keeps connections open
 * but delivers nothing (a network that silently drops packets: TCP keeps what was sent and
 * delivers it if the path comes back), `up()` restores and delivers what was held.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private mode: 'up' | 'down' | 'stall' | 'drop-replies' = 'up';
  private readonly held: (() => void)[] = [];
  port = 0;

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

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections currently open through the proxy (client side). */
  get connections(): number {
    return [...this.sockets].filter((s) => !s.destroyed).length / 2;
  }

  down(): void {
    this.mode = 'down';
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Requests still reach the server; its replies are thrown away (a reply lost on the way back). */
  dropReplies(): void {
    this.mode = 'drop-replies';
  }

  stall(): void {
    this.mode = 'stall';
  }

  up(): void {
    this.mode = 'up';
    for (const deliver of this.held.splice(0)) deliver();
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(this.targetPort, this.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (this.mode === 'up' || (this.mode === 'drop-replies' && from === client)) {
          if (!to.destroyed) to.write(chunk);
        } else if (this.mode === 'stall') {
          this.held.push(() => {
            if (!to.destroyed) to.write(chunk);
          });
        }
      });
      from.on('close', () => {
        to.destroy();
        this.sockets.delete(from);
      });
      from.on('error', () => to.destroy());
    };
    forward(client, upstream);
    forward(upstream, client);
  }
}
