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

/** A row holding one JSON record and what names it in messages. */
export interface RecordRow {
  readonly key: string | number;
  readonly record: string;
}

type Upsert = [string, string, number, number, number, number, number, number, number, string, Uint8Array];

const COUNT_COLUMNS =
  'feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram';
const METRIC_COLUMNS = `${COUNT_COLUMNS}, users`;
/** Counters stop at Number.MAX_SAFE_INTEGER and latency sums at the largest double, as in core. */
const MAX_COUNT = '9007199254740991';
const MAX_SUM = '1.7976931348623157e308';

/** What the store uses of a better-sqlite3 result, named here so declarations need no driver types. */
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

    features: named(db.prepare<[], RecordRow>('SELECT name AS key, record FROM features ORDER BY rowid')),
    featureRecord: named(db.prepare<[string], string>('SELECT record FROM features WHERE name = ?').pluck()),
    featureVersion: named(
      db.prepare<[string], number>('SELECT version FROM features WHERE name = ?').pluck(),
    ),
    insertFeature: named(
      db.prepare<[string, string]>(
        'INSERT INTO features (name, version, record) VALUES (?, 1, ?) ON CONFLICT (name) DO NOTHING',
      ),
    ),
    updateFeature: named(
      db.prepare<[number, string, string, number]>(
        'UPDATE features SET version = ?, record = ? WHERE name = ? AND version = ?',
      ),
    ),
    deleteFeature: named(db.prepare<[string]>('DELETE FROM features WHERE name = ?')),

    beta: named(
      db.prepare<[], [string, string]>('SELECT feature, user_id FROM beta_members ORDER BY id').raw(),
    ),
    betaCount: named(
      db.prepare<[string], number>('SELECT count(*) FROM beta_members WHERE feature = ?').pluck(),
    ),
    addBeta: named(
      db.prepare<[string, string]>(
        'INSERT INTO beta_members (feature, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
      ),
    ),
    removeBeta: named(
      db.prepare<[string, string]>('DELETE FROM beta_members WHERE feature = ? AND user_id = ?'),
    ),
    clearBeta: named(db.prepare<[string]>('DELETE FROM beta_members WHERE feature = ?')),
    removeUserBeta: named(db.prepare<[string]>('DELETE FROM beta_members WHERE user_id = ?')),

    blacklist: named(db.prepare<[], string>('SELECT user_id FROM blacklist ORDER BY id').pluck()),
    addBlacklist: named(
      db.prepare<[string]>('INSERT INTO blacklist (user_id) VALUES (?) ON CONFLICT DO NOTHING'),
    ),
    removeBlacklist: named(db.prepare<[string]>('DELETE FROM blacklist WHERE user_id = ?')),

    userById: named(db.prepare<[string], string>('SELECT record FROM users WHERE id = ?').pluck()),
    userByEmail: named(
      db.prepare<[string], RecordRow>('SELECT id AS key, record FROM users WHERE email_norm = ?'),
    ),
    users: named(db.prepare<[], RecordRow>('SELECT id AS key, record FROM users ORDER BY created_at, rowid')),
    insertUser: named(
      db.prepare<[string, string, number, string]>(
        'INSERT INTO users (id, email_norm, created_at, record) VALUES (?, ?, ?, ?)',
      ),
    ),
    deleteUser: named(db.prepare<[string]>('DELETE FROM users WHERE id = ?')),

    insertFeedback: named(
      db.prepare<[string, string, string]>(
        'INSERT INTO feedback (user_id, feature, record) VALUES (?, ?, ?)',
      ),
    ),
    feedback: named(db.prepare<[], RecordRow>('SELECT seq AS key, record FROM feedback ORDER BY seq')),
    featureFeedback: named(
      db.prepare<[string], RecordRow>(
        'SELECT seq AS key, record FROM feedback WHERE feature = ? ORDER BY seq',
      ),
    ),
    removeUserFeedback: named(db.prepare<[string]>('DELETE FROM feedback WHERE user_id = ?')),

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
    metricsSince: named(
      db.prepare<[number], MetricRow>(
        `SELECT ${METRIC_COLUMNS} FROM metric_buckets WHERE bucket_start >= ? ORDER BY bucket_start, id`,
      ),
    ),
    metricsSinceOf: named(
      db.prepare<[number, string], MetricRow>(
        `SELECT ${METRIC_COLUMNS} FROM metric_buckets
       WHERE bucket_start >= ? AND feature IN (SELECT value FROM json_each(?))
       ORDER BY bucket_start, id`,
      ),
    ),
    // Without the registers: most of a row's size, and not needed for threshold windows.
    countsSince: named(
      db.prepare<[number], MetricRow>(
        `SELECT ${COUNT_COLUMNS} FROM metric_buckets WHERE bucket_start >= ? ORDER BY bucket_start, id`,
      ),
    ),
    countsSinceOf: named(
      db.prepare<[number, string], MetricRow>(
        `SELECT ${COUNT_COLUMNS} FROM metric_buckets
       WHERE bucket_start >= ? AND feature IN (SELECT value FROM json_each(?))
       ORDER BY bucket_start, id`,
      ),
    ),
    lastBatch: named(db.prepare<[string], number>('SELECT seq FROM metric_batches WHERE writer = ?').pluck()),
    putBatch: named(
      db.prepare<[string, number, number]>(
        `INSERT INTO metric_batches (writer, seq, at) VALUES (?, ?, ?)
       ON CONFLICT (writer) DO UPDATE SET seq = excluded.seq, at = excluded.at`,
      ),
    ),
    pruneBatches: named(db.prepare<[number]>('DELETE FROM metric_batches WHERE at < ?')),
    pruneMetrics: named(db.prepare<[number]>('DELETE FROM metric_buckets WHERE bucket_start < ?')),

    logs: {
      alerts: logStatements(db, 'alerts'),
      'health-reports': logStatements(db, 'health_reports'),
      audit: logStatements(db, 'audit'),
    },

    insertRollback: named(
      db.prepare<[string, number, string]>('INSERT INTO rollbacks (feature, at, record) VALUES (?, ?, ?)'),
    ),
    rollbacks: named(db.prepare<[], RecordRow>('SELECT seq AS key, record FROM rollbacks ORDER BY seq')),
    featureRollbacks: named(
      db.prepare<[string], RecordRow>(
        'SELECT seq AS key, record FROM rollbacks WHERE feature = ? ORDER BY seq',
      ),
    ),
  };
}

function logStatements(db: Database.Database, table: 'alerts' | 'health_reports' | 'audit') {
  return {
    insert: named(db.prepare<[number, string]>(`INSERT INTO ${table} (at, record) VALUES (?, ?)`)),
    /** Deletes every entry with `seq <= ?`. */
    trim: named(db.prepare<[number]>(`DELETE FROM ${table} WHERE seq <= ?`)),
    list: named(
      db.prepare<[number, number], RecordRow>(
        `SELECT seq AS key, record FROM ${table} WHERE at >= ? ORDER BY seq DESC LIMIT ?`,
      ),
    ),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
