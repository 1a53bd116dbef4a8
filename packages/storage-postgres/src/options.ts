import { InvalidArgumentError } from '@canary-rollout/core';
import { checkNumberOption, resolveNamespace } from '@canary-rollout/core/store-kit';

/** Name of the package in messages. */
export const PKG = '@canary-rollout/storage-postgres';

/**
 * What the store uses of the app's pool: every `pg.Pool` fits. Named here so the declarations
 * need no `pg` types (`@types/pg` is the app's choice, not a dependency of the store).
 */
export interface PostgresPool {
  connect(): Promise<unknown>;
  readonly options?: object;
}

/** Options of `PostgresStore`. Give one of `connectionString` and `pool`. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` for a pool of the store's own (closed by `close()`). */
  connectionString?: string;
  /**
   * The app's own `pg.Pool`. The store runs its statements on it and never closes it; for change
   * notifications it opens one dedicated connection with the pool's settings (closed by `close()`).
   */
  pool?: PostgresPool;
  /** Schema holding the store's tables; created if missing. @default 'canary_rollout' */
  schema?: string;
  /**
   * Separates several rollout states (environments, apps) in one schema.
   * @default `appName`, else `$CANARY_ROLLOUT_APP`, else 'default'
   */
  namespace?: string;
  /** The app whose state this is: the namespace when `namespace` is not given. */
  appName?: string;
  /** Every store call settles (resolves or rejects) within this time. @default 2000 */
  statementTimeoutMs?: number;
  /** `open()` fails with `StoreUnavailableError` when PostgreSQL does not answer within this time. @default 5000 */
  connectTimeoutMs?: number;
  /** Connections of the store's own pool (not used with `pool`). @default 4 */
  maxConnections?: number;
  /** Entries kept per log (alerts, health reports, audit). @default 10000 */
  maxLogEntries?: number;
  /** Rollback records kept. @default 10000 */
  maxRollbackRecords?: number;
  /** How long a metric bucket is kept after its last write. @default 172800000 (48 hours) */
  metricsRetentionMs?: number;
  /**
   * How often the state version is read and the notification connection checked, as a safety net
   * beside `LISTEN`/`NOTIFY`. 0 turns it off. @default 5000
   */
  pollIntervalMs?: number;
  /**
   * Receives warnings: a background step (folding flushed metrics, dropping expired ones) that
   * started failing. Flushed metrics stay readable meanwhile; the step is retried.
   * @default process.emitWarning (code CANARY_ROLLOUT_STORAGE_POSTGRES)
   */
  onWarning?: (message: string) => void;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly schema: string;
  readonly namespace: string;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly metricsRetentionMs: number;
  readonly pollIntervalMs: number;
  readonly onWarning: (message: string) => void;
}

/** Lower-case identifiers only: they need no quoting rules a reader could get wrong. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Applies defaults and rejects values that cannot work, naming the option. */
export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`${PKG}: options must be an object, got ${String(options)}`);
  }
  const { connectionString, pool } = options;
  if (connectionString !== undefined && pool !== undefined) {
    throw new InvalidArgumentError(`${PKG}: give either "connectionString" or "pool", not both`);
  }
  if (connectionString === undefined && pool === undefined) {
    throw new InvalidArgumentError(`${PKG}: give "connectionString" (postgres://...) or "pool" (a pg.Pool)`);
  }
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    throw new InvalidArgumentError(`${PKG}: "connectionString" must be a non-empty string`);
  }
  if (
    pool !== undefined &&
    (pool === null || typeof (pool as { connect?: unknown }).connect !== 'function')
  ) {
    throw new InvalidArgumentError(`${PKG}: "pool" must be a pg.Pool`);
  }
  const schema = options.schema ?? 'canary_rollout';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new InvalidArgumentError(
      `${PKG}: "schema" must be a lower-case identifier (letters, digits, _; at most 63; not pg_*), got ${JSON.stringify(schema)}`,
    );
  }
  const namespace = resolveNamespace(PKG, options.namespace, options.appName, 'default');
  return {
    schema,
    namespace,
    statementTimeoutMs: positive('statementTimeoutMs', options.statementTimeoutMs, 2000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    maxConnections: positive('maxConnections', options.maxConnections, 4),
    metricsRetentionMs: positive('metricsRetentionMs', options.metricsRetentionMs, 48 * 3_600_000),
    pollIntervalMs: nonNegative('pollIntervalMs', options.pollIntervalMs, 5000),
    onWarning: options.onWarning ?? emitWarning,
  };
}

function emitWarning(message: string): void {
  process.emitWarning(message, { code: 'CANARY_ROLLOUT_STORAGE_POSTGRES' });
}

function positive(name: string, value: unknown, fallback: number): number {
  return checkNumberOption(`${PKG}: option`, `"${name}"`, value, {
    fallback,
    min: 'positive',
    integer: true,
  });
}

function nonNegative(name: string, value: unknown, fallback: number): number {
  return checkNumberOption(`${PKG}: option`, `"${name}"`, value, {
    fallback,
    min: 'non-negative',
    integer: true,
  });
}

/** A connection string as it may be shown: the password replaced by `***`. */
export function redactConnectionString(text: string): string {
  return text
    .replace(/^([a-z]+:\/\/[^:@/?#]*):[^@/?#]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}
