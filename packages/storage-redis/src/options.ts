import { InvalidArgumentError } from '@canary-rollout/core';
import { checkNumberOption, type NumberOptionRule, resolveNamespace } from '@canary-rollout/core/store-kit';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { PKG } from './internal/commands';

/** Options of `RedisStore`. Give at most one of `url`/`redis` (they combine) and `client`. */
export interface RedisStoreOptions {
  /** Redis URL (`redis://`, `rediss://`) for the store's own connection. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** ioredis options for the store's own connection (combined with `url` when both are given). */
  redis?: RedisOptions;
  /**
   * An existing ioredis `Redis` or `Cluster`. The store sends its commands on it and never
   * closes it; for change notifications it opens a duplicate of its own (closed by `close()`).
   */
  client?: Redis | Cluster;
  /**
   * Names the app whose rollout state this is: the namespace when `namespace` is not given.
   * @default `$CANARY_ROLLOUT_APP`
   */
  appName?: string;
  /**
   * Separates several rollout states on one Redis; becomes the hash tag of every key. One of
   * `namespace`, `appName` or `CANARY_ROLLOUT_APP` is required, so that two apps on one Redis never
   * share a state by accident. @default `appName`
   */
  namespace?: string;
  /** Every store call settles (resolves or rejects) within this time. @default 2000 */
  commandTimeoutMs?: number;
  /** `open()` fails with `StoreUnavailableError` when Redis is not ready within this time. @default 5000 */
  connectTimeoutMs?: number;
  /** Commands waiting for a reply at most; beyond it calls fail fast. @default 1000 */
  maxPendingCommands?: number;
  /** Entries kept per log (alerts, health reports). @default 10000 */
  maxLogEntries?: number;
  /** How long a metric bucket lives after its last write. @default 172800000 (48 hours) */
  metricsRetentionMs?: number;
  /**
   * How often the state version is polled and the pub/sub connection pinged, as a safety net
   * beside change notifications. 0 turns it off. @default 5000
   */
  pollIntervalMs?: number;
  /**
   * Receives warnings: at `open()`, a `maxmemory-policy` under which Redis may evict the store's
   * keys (an evicted feature hash turns every feature off; the rollout service then restores it).
   * @default process.emitWarning (code CANARY_ROLLOUT_STORAGE_REDIS)
   */
  onWarning?: (message: string) => void;
}

/** Applies defaults and rejects values that cannot work, naming the option. */
export function resolveOptions(options: RedisStoreOptions) {
  if (options.client !== undefined && (options.url !== undefined || options.redis !== undefined)) {
    throw new InvalidArgumentError(`${PKG}: give either "client" or "url"/"redis", not both`);
  }
  const namespace = resolveNamespace(PKG, options.namespace, options.appName);
  const count = (
    name: keyof RedisStoreOptions,
    fallback: number,
    min: NumberOptionRule['min'] = 'positive',
  ) => checkNumberOption(`${PKG}: option`, `"${name}"`, options[name], { fallback, min, integer: true });
  return {
    namespace,
    commandTimeoutMs: count('commandTimeoutMs', 2000),
    connectTimeoutMs: count('connectTimeoutMs', 5000),
    maxPendingCommands: count('maxPendingCommands', 1000),
    maxLogEntries: count('maxLogEntries', 10_000),
    metricsRetentionMs: count('metricsRetentionMs', 48 * 3_600_000),
    pollIntervalMs: count('pollIntervalMs', 5000, 'non-negative'),
    onWarning: options.onWarning ?? emitWarning,
  } as const;
}

/** Options with every default applied. */
export type ResolvedOptions = ReturnType<typeof resolveOptions>;

function emitWarning(message: string): void {
  process.emitWarning(message, { code: 'CANARY_ROLLOUT_STORAGE_REDIS' });
}
