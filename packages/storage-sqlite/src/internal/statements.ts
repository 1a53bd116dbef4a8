import type { MetricBucket } from '@canary-rollout/core/store-kit';
import type Database from 'better-sqlite3';

/** A metric bucket row as read back: stage 0 when written without one, `users` only when read. */
export type MetricRow = Readonly<{ feature: string; arm: string; stage: number; bucket_start: number }> &
  Readonly<{ calls: number; successes: number; failures: number; latency_count: number }> &
  Readonly<{ latency_sum_ms: number; histogram: string; users?: Uint8Array }>;

export type EntryRow = Readonly<{ key: string; version: number; value: string }>;

/** A bucket to add, with its stage (0 for none) and its merged histogram (JSON) and registers. */
type MetricUpsert = Omit<MetricBucket, 'stage' | 'histogram' | 'users'> &
  Readonly<{ stage: number; histogram: string; users: Uint8Array }>;

const COUNT_COLUMNS =
  'feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram';
const METRIC_COLUMNS = `${COUNT_COLUMNS}, users`;
/** Counters stop at Number.MAX_SAFE_INTEGER and latency sums at the largest double, as in core. */
const MAX_COUNT = '9007199254740991';
const MAX_SUM = '1.7976931348623157e308';

/**
 * What the store uses of a better-sqlite3 statement, named here: declarations are emitted for
 * every module, and better-sqlite3's own statement type cannot be named in them.
 */
export interface Statement<P extends unknown[], R> {
  run(...params: P): { readonly changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

const ENTRIES = 'SELECT key, version, value FROM entries WHERE collection = ?';
/** Buckets from a start, oldest first: all, or those of a JSON array of features (`filter`). */
const OF_FEATURES = 'AND feature IN (SELECT value FROM json_each(?))';
const metricsFrom = (columns: string, filter = '') =>
  `SELECT ${columns} FROM metric_buckets WHERE bucket_start >= ? ${filter} ORDER BY bucket_start, id`;

/**
 * Every statement the store runs, prepared once per connection: preparing costs more than
 * running most of these.
 */
export function prepareStatements(db: Database.Database) {
  // Statements returning rows as objects (or nothing), a single column (`pluck`), or arrays (`raw`).
  const rows = <P extends unknown[], R = never>(sql: string): Statement<P, R> => db.prepare<P, R>(sql);
  const column = <P extends unknown[], R>(sql: string): Statement<P, R> => db.prepare<P, R>(sql).pluck();
  const tuples = <P extends unknown[], R>(sql: string): Statement<P, R> => db.prepare<P, R>(sql).raw();
  return {
    dataVersion: column<[], number>('PRAGMA data_version'),
    stateVersion: column<[], number>('SELECT version FROM state WHERE id = 1'),
    bumpState: column<[], number>('UPDATE state SET version = version + 1 WHERE id = 1 RETURNING version'),

    entries: rows<[string], EntryRow>(`${ENTRIES} ORDER BY key`),
    entry: rows<[string, string], EntryRow>(`${ENTRIES} AND key = ?`),
    entryVersion: column<[string, string], number>(
      'SELECT version FROM entries WHERE collection = ? AND key = ?',
    ),
    putEntry: rows<[string, string, string]>(
      `INSERT INTO entries (collection, key, version, value) VALUES (?, ?, 1, ?)
       ON CONFLICT (collection, key) DO UPDATE SET version = version + 1, value = excluded.value`,
    ),
    deleteEntry: rows<[string, string]>('DELETE FROM entries WHERE collection = ? AND key = ?'),

    setVersion: column<[string], number>('SELECT version FROM set_versions WHERE name = ?'),
    bumpSet: rows<[string]>(
      `INSERT INTO set_versions (name, version) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET version = version + 1`,
    ),
    setMembers: column<[string], string>('SELECT member FROM set_members WHERE name = ? ORDER BY id'),
    setsWithPrefix: tuples<[number, string], [string, number]>(
      'SELECT name, version FROM set_versions WHERE substr(name, 1, ?) = ? ORDER BY name',
    ),
    membersWithPrefix: tuples<[number, string], [string, string]>(
      'SELECT name, member FROM set_members WHERE substr(name, 1, ?) = ? ORDER BY id',
    ),
    addMember: rows<[string, string]>(
      'INSERT INTO set_members (name, member) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    removeMember: rows<[string, string]>('DELETE FROM set_members WHERE name = ? AND member = ?'),
    clearSet: rows<[string]>('DELETE FROM set_members WHERE name = ?'),

    appendLine: rows<[string, number, string]>('INSERT INTO log_lines (log, at, entry) VALUES (?, ?, ?)'),
    // Everything older than the `retain`-th newest line of the log.
    trimLog: rows<[string, string, number]>(
      `DELETE FROM log_lines WHERE log = ? AND seq <= (
         SELECT seq FROM log_lines WHERE log = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
    ),
    // The newest first, so LIMIT reads only the lines asked for.
    logLines: column<[string, number, number], string>(
      'SELECT entry FROM log_lines WHERE log = ? AND at >= ? ORDER BY seq DESC LIMIT ?',
    ),

    metricMerged: tuples<[string, string, number, number], [string, Uint8Array]>(
      'SELECT histogram, users FROM metric_buckets WHERE feature = ? AND arm = ? AND stage = ? AND bucket_start = ?',
    ),
    // Counters add up in SQL; histogram and registers arrive merged from the same transaction.
    upsertMetric: rows<[MetricUpsert]>(
      `INSERT INTO metric_buckets (${METRIC_COLUMNS}) VALUES (@feature, @arm, @stage, @bucketStart, @calls,
         @successes, @failures, @latencyCount, @latencySumMs, @histogram, @users)
       ON CONFLICT (feature, arm, stage, bucket_start) DO UPDATE SET
         calls = MIN(calls + excluded.calls, ${MAX_COUNT}),
         successes = MIN(successes + excluded.successes, ${MAX_COUNT}),
         failures = MIN(failures + excluded.failures, ${MAX_COUNT}),
         latency_count = MIN(latency_count + excluded.latency_count, ${MAX_COUNT}),
         latency_sum_ms = MIN(latency_sum_ms + excluded.latency_sum_ms, ${MAX_SUM}),
         histogram = excluded.histogram,
         users = excluded.users`,
    ),
    metricsSince: rows<[number], MetricRow>(metricsFrom(METRIC_COLUMNS)),
    metricsSinceOf: rows<[number, string], MetricRow>(metricsFrom(METRIC_COLUMNS, OF_FEATURES)),
    // Without the registers: most of a row's size, and not needed for threshold windows.
    countsSince: rows<[number], MetricRow>(metricsFrom(COUNT_COLUMNS)),
    countsSinceOf: rows<[number, string], MetricRow>(metricsFrom(COUNT_COLUMNS, OF_FEATURES)),
    lastBatch: column<[string], number>('SELECT seq FROM metric_batches WHERE writer = ?'),
    putBatch: rows<[string, number, number]>(
      `INSERT INTO metric_batches (writer, seq, at) VALUES (?, ?, ?)
       ON CONFLICT (writer) DO UPDATE SET seq = excluded.seq, at = excluded.at`,
    ),
    pruneBatches: rows<[number]>('DELETE FROM metric_batches WHERE at < ?'),
    pruneMetrics: rows<[number]>('DELETE FROM metric_buckets WHERE bucket_start < ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
