import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePort, stopped } from '../internal/serve';
import type { Command } from './command';

export const metrics: Command = {
  name: 'metrics',
  group: 'Diagnostics',
  summary: 'Serve Prometheus metrics',
  args: [],
  options: [
    '--port <n>     port of the endpoint (0: any free port)',
    '--host <addr>  address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)',
  ],
  description: [
    'Serves /metrics in the Prometheus text format for a process that runs no rollout service:',
    'rollout percentages, fleet-wide calls and failures per feature and arm over the metrics',
    'window, and rollbacks, all read from the store at each scrape. Runs until interrupted.',
  ],
  examples: ['metrics --port 9464', 'metrics --port 9464 --host 0.0.0.0 --store redis://redis:6379'],
  async run(ctx) {
    const port = parsePort(ctx.options.port, 'metrics', '--port 9464');
    const host = ctx.options.host ?? '127.0.0.1';
    await ctx.read(async (session) => {
      // Loaded here so the other commands start without the OpenTelemetry SDK.
      const { createStorePrometheusEndpoint } = await import('@canary-rollout/telemetry/sdk');
      const endpoint = createStorePrometheusEndpoint({
        store: session.store,
        windowMs: session.config.canaryRollout.thresholds.windowMs,
        now: () => ctx.clock.now(),
        onError: (error) =>
          ctx.io.stderr.write(
            `metrics: could not read the store: ${error instanceof Error ? error.message : String(error)}\n`,
          ),
      });
      const server = createServer((request, response) => {
        if (request.url?.split('?')[0] === '/metrics') endpoint.handler(request, response);
        else response.writeHead(404).end('not found: try /metrics\n');
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => resolve());
        });
        const address = server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        ctx.print(`Serving Prometheus metrics on http://${shown}:${address.port}/metrics (Ctrl-C to stop)`);
        await stopped(ctx);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await endpoint.close();
      }
    });
  },
};
