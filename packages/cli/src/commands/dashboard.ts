import { UsageError } from '../internal/errors';
import { parsePort, stopped } from '../internal/serve';
import { storeIsMissing, storeLabel } from '../internal/store-spec';
import type { Command } from './command';

/** The environment variable that holds the token, out of sight of `ps`. */
export const DASHBOARD_TOKEN_ENV = 'CANARY_ROLLOUT_DASHBOARD_TOKEN';

export const dashboard: Command = {
  name: 'dashboard',
  group: 'Diagnostics',
  summary: 'Serve the web dashboard',
  args: [],
  options: [
    '--port <n>     port to listen on (default 4848; 0: any free port)',
    '--host <addr>  address to listen on (default 127.0.0.1: this machine only)',
    `--token <t>    allow actions to whoever signs in with it (or ${DASHBOARD_TOKEN_ENV}; without one, read-only)`,
  ],
  description: [
    'Serves the dashboard over the store: every feature with its health and sparklines, a page per',
    'feature with its error rate, latency and percentage over time, alerts and rollbacks, the',
    'comparison with its control, and the history. Pages update live when any process changes the',
    'store. With a token, a signed-in operator can change the percentage (with the same guards as',
    'update-rollout), roll back and steer plans; each change is in the audit trail. Runs until interrupted.',
  ],
  examples: ['dashboard', 'dashboard --port 8080 --store sqlite:/var/lib/document-sorter/rollout.db'],
  async run(ctx) {
    const port = parsePort(ctx.options.port, 'dashboard', '--port 4848', 4848);
    const host = ctx.options.host ?? '127.0.0.1';
    const token = ctx.options.token ?? ctx.env[DASHBOARD_TOKEN_ENV];
    if (token !== undefined && token.length < 8) {
      throw new UsageError('--token must be at least 8 characters');
    }
    const { config } = ctx.config();
    // Showing a store that is not there would create it: nothing is written just by looking.
    if (storeIsMissing(ctx.spec)) {
      throw new UsageError(
        `dashboard: there is no store at ${storeLabel(ctx.spec)} yet; the app creates it when it starts (or pass --store)`,
      );
    }
    await ctx.bare(async (store) => {
      // Loaded here only: the other commands start without the dashboard.
      const { serveDashboard } = await import('@canary-rollout/dashboard');
      const server = await serveDashboard({
        store,
        config,
        clock: ctx.clock,
        port,
        host,
        ...(token === undefined
          ? {}
          : { auth: { token, ...(ctx.options.actor === undefined ? {} : { actor: ctx.options.actor }) } }),
        onError: (error) =>
          ctx.io.stderr.write(
            `dashboard: could not read the store: ${error instanceof Error ? error.message : String(error)}\n`,
          ),
      });
      try {
        ctx.print(`Dashboard on ${server.url} (Ctrl-C to stop)`);
        ctx.print(
          token === undefined
            ? `Read-only: pass --token (or set ${DASHBOARD_TOKEN_ENV}) to allow actions.`
            : 'Actions need the token: sign in on the page.',
        );
        if (!server.local) {
          ctx.io.stderr.write(
            `warning: listening on ${host}, not 127.0.0.1: other machines can reach the dashboard${token === undefined ? '' : ' and its login form; put it behind TLS'}\n`,
          );
        }
        await stopped(ctx);
      } finally {
        await server.close();
      }
    });
  },
};
