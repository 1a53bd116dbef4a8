import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboardHandler, type DashboardOptions } from './handler';

/** Options of `serveDashboard`: the handler's, and where to listen. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** @default 4848; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1': only this machine can connect */
  readonly host?: string;
}

/** A running dashboard server. */
export interface DashboardServer {
  readonly url: string;
  readonly server: Server;
  /** True when bound to a loopback address only. */
  readonly local: boolean;
  /** Stops listening and ends open event streams; does not close the store. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Serves the dashboard on its own HTTP server, on 127.0.0.1 unless `host` says otherwise (the
 * `rollout-manager dashboard` command).
 */
export async function serveDashboard(options: ServeDashboardOptions): Promise<DashboardServer> {
  const port = options.port ?? 4848;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(
      `@canary-rollout/dashboard: port ${JSON.stringify(port)} is not a port number (0 to 65535)`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  const handler = createDashboardHandler(options);
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    server,
    local: LOOPBACK.test(host),
    async close() {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
