import type Database from 'better-sqlite3';

/** A metric bucket row as read back. */
export interface MetricRow {
  readonly feature: string;
  readonly arm: string;
  /** 0: written without a stage. */
  readonly stage: number;
  readonly bucket_start: number;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly latency_count: number;
  readonly latency_sum_ms: number;
  readonly histogram: string;
  /** Absent when read without the registers. */
  readonly users?: Uint8Array;
}

/** A row of the `entries` table. */
export interface EntryRow {
  readonly key: string;
  readonly version: number;
  readonly value: string;
}

type Upsert = [string, string, number, number, number, number, number, number, number, string, Uint8Array];

const COUNT_COLUMNS =
  'feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram';
const METRIC_COLUMNS = `${COUNT_COLUMNS}, users`;
/** Counters stop at Number.MAX_SAFE_INTEGER and latency sums at the largest double, as in core. */
const MAX_COUNT = '9007199254740991';
const MAX_SUM = '1.7976931348623157e308';

/**
 * What the store uses of a better-sqlite3 result, named here: declarations are emitted for every
 * module, and better-sqlite3's own statement type cannot be named in them.
 */
export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** What the store uses of a better-sqlite3 statement (see `RunResult`). */
export interface Statement<P extends unknown[], R> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

function named<P extends unknown[], R>(statement: Database.Statement<P, R>): Statement<P, R> {
  return statement;
}

/** Buckets from a start, oldest first: all, or those of a JSON array of features (`filter`). */
const OF_FEATURES = 'AND feature IN (SELECT value FROM json_each(?))';
const metricsFrom = (columns: string, filter = '') =>
  `SELECT ${columns} FROM metric_buckets WHERE bucket_start >= ? ${filter} ORDER BY bucket_start, id`;

/**
 * Every statement the store runs, prepared once per connection: preparing costs more than
 * running most of these.
 */
export function prepareStatements(db: Database.Database) {
  return {
    dataVersion: named(db.prepare<[], number>('PRAGMA data_version').pluck()),
    stateVersion: named(db.prepare<[], number>('SELECT version FROM state WHERE id = 1').pluck()),
    bumpState: named(
      db.prepare<[], number>('UPDATE state SET version = version + 1 WHERE id = 1 RETURNING version').pluck(),
    ),

    entries: named(
      db.prepare<[string], EntryRow>(
        'SELECT key, version, value FROM entries WHERE collection = ? ORDER BY key',
      ),
    ),
    entry: named(
      db.prepare<[string, string], EntryRow>(
        'SELECT key, version, value FROM entries WHERE collection = ? AND key = ?',
      ),
    ),
    entryVersion: named(
      db
        .prepare<[string, string], number>('SELECT version FROM entries WHERE collection = ? AND key = ?')
        .pluck(),
    ),
    putEntry: named(
      db.prepare<[string, string, string]>(
        `INSERT INTO entries (collection, key, version, value) VALUES (?, ?, 1, ?)
       ON CONFLICT (collection, key) DO UPDATE SET version = version + 1, value = excluded.value`,
      ),
    ),
    deleteEntry: named(db.prepare<[string, string]>('DELETE FROM entries WHERE collection = ? AND key = ?')),

    setVersion: named(
      db.prepare<[string], number>('SELECT version FROM set_versions WHERE name = ?').pluck(),
    ),
    bumpSet: named(
      db.prepare<[string]>(
        `INSERT INTO set_versions (name, version) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET version = version + 1`,
      ),
    ),
    setMembers: named(
      db.prepare<[string], string>('SELECT member FROM set_members WHERE name = ? ORDER BY id').pluck(),
    ),
    setsWithPrefix: named(
      db
        .prepare<[number, string], [string, number]>(
          'SELECT name, version FROM set_versions WHERE substr(name, 1, ?) = ? ORDER BY name',
        )
        .raw(),
    ),
    membersWithPrefix: named(
      db
        .prepare<[number, string], [string, string]>(
          'SELECT name, member FROM set_members WHERE substr(name, 1, ?) = ? ORDER BY id',
        )
        .raw(),
    ),
    addMember: named(
      db.prepare<[string, string]>(
        'INSERT INTO set_members (name, member) VALUES (?, ?) ON CONFLICT DO NOTHING',
      ),
    ),
    removeMember: named(
      db.prepare<[string, string]>('DELETE FROM set_members WHERE name = ? AND member = ?'),
    ),
    clearSet: named(db.prepare<[string]>('DELETE FROM set_members WHERE name = ?')),

    appendLine: named(
      db.prepare<[string, number, string]>('INSERT INTO log_lines (log, at, entry) VALUES (?, ?, ?)'),
    ),
    // Everything older than the `retain`-th newest line of the log.
    trimLog: named(
      db.prepare<[string, string, number]>(
        `DELETE FROM log_lines WHERE log = ? AND seq <= (
         SELECT seq FROM log_lines WHERE log = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      ),
    ),
    // The newest first, so LIMIT reads only the lines asked for.
    logLines: named(
      db
        .prepare<[string, number, number], string>(
          'SELECT entry FROM log_lines WHERE log = ? AND at >= ? ORDER BY seq DESC LIMIT ?',
        )
        .pluck(),
    ),

    metricMerged: named(
      db
        .prepare<[string, string, number, number], [string, Uint8Array]>(
          'SELECT histogram, users FROM metric_buckets WHERE feature = ? AND arm = ? AND stage = ? AND bucket_start = ?',
        )
        .raw(),
    ),
    // Counters add up in SQL; histogram and registers arrive merged from the same transaction.
    upsertMetric: named(
      db.prepare<Upsert>(
        `INSERT INTO metric_buckets (${METRIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (feature, arm, stage, bucket_start) DO UPDATE SET
         calls = MIN(calls + excluded.calls, ${MAX_COUNT}),
         successes = MIN(successes + excluded.successes, ${MAX_COUNT}),
         failures = MIN(failures + excluded.failures, ${MAX_COUNT}),
         latency_count = MIN(latency_count + excluded.latency_count, ${MAX_COUNT}),
         latency_sum_ms = MIN(latency_sum_ms + excluded.latency_sum_ms, ${MAX_SUM}),
         histogram = excluded.histogram,
         users = excluded.users`,
      ),
    ),
    metricsSince: named(db.prepare<[number], MetricRow>(metricsFrom(METRIC_COLUMNS))),
    metricsSinceOf: named(db.prepare<[number, string], MetricRow>(metricsFrom(METRIC_COLUMNS, OF_FEATURES))),
    // Without the registers: most of a row's size, and not needed for threshold windows.
    countsSince: named(db.prepare<[number], MetricRow>(metricsFrom(COUNT_COLUMNS))),
    countsSinceOf: named(db.prepare<[number, string], MetricRow>(metricsFrom(COUNT_COLUMNS, OF_FEATURES))),
    lastBatch: named(db.prepare<[string], number>('SELECT seq FROM metric_batches WHERE writer = ?').pluck()),
    putBatch: named(
      db.prepare<[string, number, number]>(
        `INSERT INTO metric_batches (writer, seq, at) VALUES (?, ?, ?)
       ON CONFLICT (writer) DO UPDATE SET seq = excluded.seq, at = excluded.at`,
      ),
    ),
    pruneBatches: named(db.prepare<[number]>('DELETE FROM metric_batches WHERE at < ?')),
    pruneMetrics: named(db.prepare<[number]>('DELETE FROM metric_buckets WHERE bucket_start < ?')),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
