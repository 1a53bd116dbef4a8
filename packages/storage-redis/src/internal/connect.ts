import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ResolvedOptions } from '../options';
import type { RedisClient } from './commands';

/** True for an ioredis `Cluster` (checked by flag, so a second copy of ioredis also works). */
const isCluster = (client: RedisClient): client is Cluster => client.isCluster === true;

/** Reconnects quickly but not in a tight loop: at most one attempt per second. */
const retryStrategy = (times: number) => Math.min(times * 100, 1000);

/**
 * Options forced on connections the store creates. ioredis would otherwise queue commands
 * without bound while disconnected and resend unanswered ones after a reconnect (which could
 * apply a metrics flush twice after its caller was told it failed).
 */
function ownConnectionOptions(settings: ResolvedOptions): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
  };
}

/** Creates the store's own command connection from `url` and/or ioredis options. */
export function createOwnClient(
  url: string | undefined,
  redis: RedisOptions | undefined,
  settings: ResolvedOptions,
): Redis {
  const options: RedisOptions = {
    connectionName: 'canary-rollout',
    retryStrategy,
    ...redis,
    ...ownConnectionOptions(settings),
  };
  return url === undefined ? new Redis(options) : new Redis(url, options);
}

/** A connection for pub/sub beside `client`, always the store's own. */
export function createSubscriber(client: RedisClient, settings: ResolvedOptions): RedisClient {
  if (isCluster(client)) return client.duplicate([], { lazyConnect: true });
  const name = client.options.connectionName;
  return client.duplicate({
    ...ownConnectionOptions(settings),
    connectionName: `${name === undefined || name === '' ? 'canary-rollout' : name}:changes`,
    // The change feed subscribes again itself after a reconnect and waits for the reply. ioredis's
    // own resubscribe sends SUBSCRIBE with no handler: a connection that drops before the reply
    // then leaves an unhandled rejection, which ends a Node process by default.
    autoResubscribe: false,
    // The subscription must come back even when the app's client was told not to reconnect.
    retryStrategy,
  });
}

/** Where the client connects, for messages: host and port only (a URL may hold a password). */
export function describeTarget(client: RedisClient): string {
  if (isCluster(client)) return 'Redis Cluster';
  const { host, port, path, sentinels } = client.options;
  if (sentinels !== undefined && sentinels !== null && sentinels.length > 0) return 'Redis via Sentinel';
  if (path !== undefined && path !== null) return `Redis at ${path}`;
  return `Redis at ${host ?? 'localhost'}:${port ?? 6379}`;
}
