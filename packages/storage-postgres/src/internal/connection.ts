import { CanaryRolloutError, StoreUnavailableError } from '@canary-rollout/core';
import type pg from 'pg';
import { PKG, type ResolvedOptions } from '../options';

/** The part of `pg.Pool` the store uses: the app's pool or its own. */
export type PgPool = pg.Pool;

/**
 * Condition names of the SQLSTATE classes a store call meets; the server's message is not shown,
 * as some messages quote the value that failed (a user's email among them).
 */
const CLASSES: Readonly<Record<string, string>> = {
  '08': 'connection exception',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '25': 'invalid transaction state',
  '28': 'invalid authorization',
  '3D': 'invalid catalog name (no such database)',
  '3F': 'invalid schema name',
  '40': 'transaction rollback',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention (the server is shutting down or cancelled the statement)',
  '58': 'system error',
  XX: 'internal error',
};

/** A message for a failure of `op`, without anything a server message could quote. */
export function toStoreError(error: unknown, op: string): Error {
  if (error instanceof CanaryRolloutError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const kind =
      code === '57014' ? 'statement cancelled (statement_timeout)' : (CLASSES[code.slice(0, 2)] ?? 'error');
    return new StoreUnavailableError(`${PKG}: ${op} failed: PostgreSQL ${kind} (SQLSTATE ${code})`);
  }
  // Errors of the network and of pg's own client (no SQLSTATE) name hosts and ports, never data.
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`${PKG}: ${op} failed: ${message}`, { cause: error });
}

/** The pool config of the store's own pool, from a connection string and the options. */
export function ownPoolConfig(connectionString: string, settings: ResolvedOptions): pg.PoolConfig {
  return {
    connectionString,
    max: settings.maxConnections,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    // The server stops a statement that runs too long; the client gives up on a silent network.
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 500,
    keepAlive: true,
    application_name: 'canary-rollout',
  };
}

/** A client config for the dedicated notification connection, from a pool's settings. */
export function listenerConfig(pool: PgPool, settings: ResolvedOptions): pg.ClientConfig {
  const options = (pool as unknown as { options?: pg.PoolConfig }).options ?? {};
  const {
    max: _max,
    min: _min,
    idleTimeoutMillis: _idle,
    connectionTimeoutMillis: _connect,
    allowExitOnIdle: _exit,
    maxUses: _uses,
    maxLifetimeSeconds: _lifetime,
    log: _log,
    Client: _client,
    Promise: _promise,
    ...client
  } = options as pg.PoolConfig & Record<string, unknown>;
  return {
    ...(client as pg.ClientConfig),
    connectionTimeoutMillis: settings.connectTimeoutMs,
    keepAlive: true,
  };
}

/**
 * Runs statements on a pool, each bounded by `statementTimeoutMs` from the moment it is asked for
 * (waiting for a connection included). A connection whose statement timed out, or that failed,
 * is destroyed instead of going back to the pool: it may still be busy or half-open.
 */
export class Statements {
  constructor(
    private readonly pool: PgPool,
    private readonly timeoutMs: number,
  ) {}

  async query<R extends pg.QueryResultRow>(
    op: string,
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.withClient(op, (client, left) =>
      client.query<R>({ text, values: values as unknown[], query_timeout: left } as pg.QueryConfig),
    );
  }

  /** Runs `body` on one connection of the pool within the time left of the call. */
  async withClient<T>(op: string, body: (client: pg.PoolClient, leftMs: number) => Promise<T>): Promise<T> {
    const started = performance.now();
    let client: pg.PoolClient;
    try {
      client = await acquire(this.pool, this.timeoutMs, op);
    } catch (error) {
      throw toStoreError(error, op);
    }
    const left = Math.max(1, Math.round(this.timeoutMs - (performance.now() - started)));
    let failed: unknown;
    // A checked-out client has no listener of the pool: a connection lost under it would crash
    // the app with an unhandled 'error'. The statement's own rejection reports the loss.
    const onError = (error: Error) => {
      failed ??= error;
    };
    client.on('error', onError);
    try {
      return await body(client, left);
    } catch (error) {
      failed = error;
      throw toStoreError(error, op);
    } finally {
      // A server-side error leaves the connection usable; a timeout or a network error does not.
      const code = (failed as { code?: unknown } | undefined)?.code;
      const sqlError = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08');
      client.off('error', onError);
      client.release(failed === undefined || sqlError ? undefined : (failed as Error));
    }
  }
}

/** `pool.connect()` within `ms`; a connection that arrives later goes straight back. */
function acquire(pool: PgPool, ms: number, op: string): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(
        new StoreUnavailableError(
          `${PKG}: ${op} failed: no connection to PostgreSQL within ${ms} ms (statementTimeoutMs)`,
        ),
      );
    }, ms);
    timer.unref?.();
    pool.connect().then(
      (client) => {
        clearTimeout(timer);
        if (settled) client.release();
        else resolve(client);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!settled) reject(error);
      },
    );
  });
}
