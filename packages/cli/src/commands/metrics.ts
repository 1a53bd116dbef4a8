import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '../internal/context';
import { UsageError } from '../internal/errors';
import type { Command } from './command';

function parsePort(value: string | undefined): number {
  if (value === undefined) throw new UsageError('metrics: --port is required, e.g. --port 9464');
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new UsageError(`--port must be a whole number 0..65535, got ${JSON.stringify(value)}`);
  return port;
}

/** Resolves on the io's stop signal, else on SIGINT or SIGTERM. */
function stopped(ctx: Context): Promise<void> {
  const signal = ctx.io.stop;
  if (signal !== undefined) {
    return signal.aborted
      ? Promise.resolve()
      : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

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
    const port = parsePort(ctx.options.port);
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
