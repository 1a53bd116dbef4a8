import { InvalidArgumentError } from '@canary-rollout/core';
import { checkNumberOption, type NumberOptionRule } from '@canary-rollout/core/store-kit';
import type Database from 'better-sqlite3';
import { PREFIX } from './internal/constants';

/** Settings shared by both ways of pointing the store at a database. */
export interface SqliteStoreSettings {
  /**
   * How long an operation waits in all for other connections' locks before failing with
   * `StoreUnavailableError` (ms). Each attempt waits at most 20 ms inside SQLite (blocking, as
   * better-sqlite3 is synchronous); between attempts the store waits on a timer, so the event
   * loop keeps serving while another process holds the lock. Writes of one handle keep their order.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /** How often the store looks for changes made by other processes (ms). @default 1000 */
  pollIntervalMs?: number;
  /** Entries kept per log (alerts, health reports); the oldest are deleted. @default 10000 */
  maxLogEntries?: number;
  /**
   * Metric buckets older than this (ms before the newest bucket written, capped at the clock)
   * are deleted, at most once a minute per process. `Infinity` keeps them all.
   * @default 604800000 (7 days)
   */
  metricRetentionMs?: number;
  /**
   * `PRAGMA synchronous`. `normal` is safe from corruption in WAL mode and may lose the last
   * commits on power loss; `full` syncs every commit.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /** Clock for metric retention (epoch ms). @default Date.now */
  now?: () => number;
}

/**
 * An open better-sqlite3 connection (`new Database(file)`), as far as this package's types need to
 * know it: declared here so that they compile without `@types/better-sqlite3`.
 */
export interface SqliteDatabase {
  readonly name: string;
  readonly open: boolean;
  readonly readonly: boolean;
  readonly memory: boolean;
  prepare(source: string): unknown;
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
}

/** Options of `SqliteStore`: a `path` to a database file, or an open better-sqlite3 `database`. */
export type SqliteStoreOptions = SqliteStoreSettings &
  (
    | {
        /**
         * Database file; created when missing with mode 0600 (its folder 0700). `:memory:` gives a
         * private in-memory database.
         */
        path: string;
        database?: undefined;
      }
    | {
        /** An open, writable connection. The store configures it (WAL, busy timeout, foreign keys) and never closes it. */
        database: SqliteDatabase;
        path?: undefined;
      }
  );

/** Checks the options and fills in defaults; throws `InvalidArgumentError` naming the option. */
export function resolveOptions(options: SqliteStoreOptions) {
  const { path, database } = options as { path?: unknown; database?: unknown };
  if ((path === undefined) === (database === undefined)) {
    throw new InvalidArgumentError(`${PREFIX}: pass exactly one of the options "path" and "database"`);
  }
  if (path !== undefined && typeof path !== 'string') {
    throw new InvalidArgumentError(`${PREFIX}: option "path" must be a string, got ${typeof path}`);
  }
  const integer = (
    name: 'busyTimeoutMs' | 'pollIntervalMs' | 'maxLogEntries' | 'metricRetentionMs',
    fallback: number,
    min: NumberOptionRule['min'],
    max = MAX_MS,
  ) =>
    checkNumberOption(`${PREFIX}: option`, `"${name}"`, options[name], { fallback, min, max, integer: true });
  const synchronous = options.synchronous ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw new InvalidArgumentError(
      `${PREFIX}: option "synchronous" must be "normal" or "full", got ${JSON.stringify(synchronous)}`,
    );
  }
  return {
    source:
      options.database === undefined
        ? { path: options.path }
        : // The driver's own type, for the store's internals; users' types need not know it.
          { database: options.database as unknown as Database.Database },
    busyTimeoutMs: integer('busyTimeoutMs', 5000, 'non-negative'),
    pollIntervalMs: integer('pollIntervalMs', 1000, 'positive'),
    maxLogEntries: integer('maxLogEntries', 10_000, 'positive', Number.MAX_SAFE_INTEGER),
    metricRetentionMs:
      options.metricRetentionMs === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : integer('metricRetentionMs', 7 * 24 * 3_600_000, 'positive', Number.MAX_SAFE_INTEGER),
    synchronous,
    now: options.now ?? Date.now,
  } as const;
}

/** Options with every default filled in. */
export type ResolvedOptions = ReturnType<typeof resolveOptions>;

/** Timers and SQLite's busy timeout take at most a signed 32-bit count of ms. */
const MAX_MS = 0x7fffffff;
