import type { MetricBucket } from '@canary-rollout/core';
import {
  emptyMetricBucket,
  MAX_METRIC_COUNT,
  type MetricBatch,
  mergeMetricBucket,
  metricKey,
  validStoredBucket,
} from '@canary-rollout/core/store-kit';
import type pg from 'pg';
import { PKG } from '../options';
import { type Statements, toStoreError } from './connection';

/** Deltas folded per transaction: bounds the rows one fold holds in memory and locked. */
const FOLD_ROWS = 5000;
/** Transactions per fold: the next fold goes on from there, so one call stays bounded. */
const FOLD_ROUNDS = 10;
/** How long after a flush its rows are folded. */
const FOLD_DELAY_MS = 1000;

interface BucketRow {
  feature: string;
  arm: string;
  stage: number;
  bucket_start: string;
  calls: string;
  successes: string;
  failures: string;
  latency_count: string;
  latency_sum_ms: number;
  histogram: Record<string, number>;
  users: Record<string, number>;
}

interface DeltaRow extends BucketRow {
  updated_at: Date;
}

/** The columns of a bucket row, in the order of the statements' `unnest`. */
const COLUMNS = `feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms,
  histogram, users`;

/**
 * Metric buckets in two tables. A flush is ONE statement: a multi-row `INSERT` of its rows into
 * `metric_deltas` behind a claim of the batch number, so a batch sent twice is applied once. A
 * background step folds the deltas into `metrics`, a row per (namespace, bucket start, feature,
 * arm, stage), with counts summed saturating and registers maxed; until then a read merges them.
 * Merging bins and registers in SQL costs about a microsecond per entry, so it is kept off the
 * flush: the flush costs what an upsert of the same rows costs.
 */
export class MetricsTable {
  /** The flush of a batch with an id: applied only if its number is new for its writer. */
  private readonly claimed: string;
  /** A flush without an id, applied as it comes. */
  private readonly plain: string;
  private readonly upsertFolded: string;
  private readonly take: string;
  private readonly prune: string;
  private soon: NodeJS.Timeout | undefined;
  private folding: Promise<void> | undefined;
  private stopped = false;
  /** Background steps whose last run failed: a failure is reported once until the step works again. */
  private readonly failing = new Set<'fold' | 'prune'>();

  constructor(
    private readonly statements: Statements,
    private readonly s: string,
    private readonly namespace: string,
    private readonly retentionMs: number,
    private readonly onWarning: (message: string) => void,
  ) {
    this.claimed = appendSql(s, true);
    this.plain = appendSql(s, false);
    this.upsertFolded = foldSql(s);
    // SKIP LOCKED: a second handle folding meanwhile takes other deltas instead of waiting.
    this.take = `DELETE FROM ${s}.metric_deltas WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM ${s}.metric_deltas WHERE namespace = $1 LIMIT ${FOLD_ROWS} FOR UPDATE SKIP LOCKED
)) RETURNING ${COLUMNS}, updated_at`;
    // A bucket goes when neither its folded row nor any of its deltas was written within the
    // retention: a delta keeps the bucket's older part alive, as a write to it would.
    const key = (t: string) =>
      `(f.bucket_start, f.feature, f.arm, f.stage) = (${t}.bucket_start, ${t}.feature, ${t}.arm, ${t}.stage)`;
    const old = `updated_at < now() - $2 * interval '1 millisecond'`;
    this.prune = `WITH fresh AS (
  SELECT bucket_start, feature, arm, stage FROM ${s}.metrics WHERE namespace = $1 AND NOT ${old}
  UNION
  SELECT bucket_start, feature, arm, stage FROM ${s}.metric_deltas WHERE namespace = $1 AND NOT ${old}
), gone AS (
  DELETE FROM ${s}.metrics m WHERE namespace = $1 AND ${old} AND NOT EXISTS (SELECT 1 FROM fresh f WHERE ${key('m')})
), gone_deltas AS (
  DELETE FROM ${s}.metric_deltas d WHERE namespace = $1 AND ${old} AND NOT EXISTS (SELECT 1 FROM fresh f WHERE ${key('d')})
)
DELETE FROM ${s}.metric_batches WHERE namespace = $1 AND ${old}`;
  }

  /** One statement; exactly once by `batch` when given. `json`: the deltas as core encoded them. */
  async add(deltas: readonly MetricBucket[], batch?: MetricBatch, json?: string): Promise<void> {
    if (deltas.length === 0) return;
    // The checked buckets as one JSON text: one parameter, parsed by the server's JSON parser,
    // cheaper on both sides than eleven arrays whose JSON elements need quoting in array syntax.
    // Core usually wrote it while checking them (`metricsEncoding: 'json'`).
    const rows = json ?? JSON.stringify(deltas);
    await this.statements.query(
      'addMetrics',
      batch === undefined ? this.plain : this.claimed,
      batch === undefined ? [this.namespace, rows] : [this.namespace, rows, batch.writer, batch.seq],
    );
    this.foldSoon();
  }

  /**
   * Folds shortly after a flush (flushes of the next moment share it), so reads rarely merge
   * deltas: a bucket's deltas cost a read about as much as the folded row each.
   */
  private foldSoon(): void {
    if (this.soon !== undefined || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.inBackground('fold');
    }, FOLD_DELAY_MS);
    this.soon.unref?.();
  }

  /**
   * Runs a fold or a prune off the call path. A step that starts failing is reported through
   * `onWarning` (nothing is lost: unfolded metrics are read with the folded ones, expired ones
   * are only kept longer), and reported again only after it worked in between.
   */
  inBackground(step: 'fold' | 'prune'): void {
    const run = step === 'fold' ? this.fold() : this.pruneExpired();
    void run.then(
      () => this.failing.delete(step),
      (error: unknown) => {
        if (this.stopped || this.failing.has(step)) return;
        this.failing.add(step);
        const effect =
          step === 'fold'
            ? 'reads merge the unfolded metrics meanwhile'
            : 'expired metrics are kept until it works';
        const message = `${toStoreError(error, step === 'fold' ? 'foldMetrics' : 'pruneMetrics').message} (in the background; retried, ${effect})`;
        try {
          this.onWarning(message);
        } catch {
          // A throwing receiver here would be an unhandled rejection, which ends the app's process.
        }
      },
    );
  }

  /** Cancels a pending fold: the store is closing. */
  stop(): void {
    this.stopped = true;
    if (this.soon !== undefined) clearTimeout(this.soon);
    this.soon = undefined;
  }

  async read(
    since: number,
    features: readonly string[] | undefined,
    users: boolean,
  ): Promise<MetricBucket[]> {
    if (features !== undefined && features.length === 0) return [];
    if (since === Number.POSITIVE_INFINITY) return [];
    const bounded = Number.isFinite(since);
    const values: unknown[] = [this.namespace, this.retentionMs];
    let where = 'namespace = $1';
    if (bounded) {
      values.push(since);
      where += ` AND bucket_start >= $${values.length}::double precision`;
    }
    if (features !== undefined) {
      values.push([...features]);
      where += ` AND feature = ANY($${values.length}::text[])`;
    }
    // Deltas hold their maps as json, folded rows as jsonb: both sides of the union read as jsonb.
    const select = (maps: string) => `SELECT feature, arm, stage, bucket_start, calls, successes, failures,
  latency_count, latency_sum_ms, histogram${maps} AS histogram, ${users ? `users${maps}` : `'{}'::jsonb`} AS users,
  updated_at`;
    // One statement: the folded rows and the deltas come from one snapshot, so a fold running
    // meanwhile is seen entirely or not at all. A bucket is kept while any of its rows is.
    const result = await this.statements.query<BucketRow>(
      'readMetrics',
      `SELECT ${COLUMNS} FROM (
  SELECT *, max(updated_at) OVER (PARTITION BY bucket_start, feature, arm, stage) AS last_write FROM (
    ${select('')} FROM ${this.s}.metrics WHERE ${where}
    UNION ALL
    ${select('::jsonb')} FROM ${this.s}.metric_deltas WHERE ${where}
  ) AS rows
) AS keyed WHERE last_write >= now() - $2 * interval '1 millisecond'`,
      values,
    );
    return mergeRows(result.rows, this.s, users).sort(
      (a, b) =>
        a.bucketStart - b.bucketStart ||
        compare(a.feature, b.feature) ||
        compare(a.arm, b.arm) ||
        (a.stage ?? 0) - (b.stage ?? 0),
    );
  }

  /** Folds the namespace's deltas into `metrics`, `FOLD_ROWS` at a time, for up to `FOLD_ROUNDS`. */
  async fold(): Promise<void> {
    // One fold of this handle at a time: a fold called while another runs starts after it, so
    // once it returns nothing it could not see (rows the other one held) is left unfolded.
    const previous = this.folding;
    const run = (async () => {
      await previous?.catch(() => {});
      for (let round = 0; round < FOLD_ROUNDS; round++) {
        if ((await this.foldSome()) < FOLD_ROWS) return;
      }
    })();
    this.folding = run;
    try {
      await run;
    } finally {
      if (this.folding === run) this.folding = undefined;
    }
  }

  /**
   * Folds up to `FOLD_ROWS` deltas in one transaction: they are deleted and their merged rows
   * upserted together, so a read sees either or the other, and two handles folding at once take
   * disjoint deltas. Returns how many were folded.
   */
  private async foldSome(): Promise<number> {
    return this.statements.withClient('foldMetrics', async (client, leftMs) => {
      const deadline = performance.now() + leftMs;
      const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
        client.query<R>({
          text,
          ...(values === undefined ? {} : { values }),
          query_timeout: Math.max(1, Math.round(deadline - performance.now())),
        } as pg.QueryConfig);
      await query('BEGIN');
      try {
        const taken = await query<DeltaRow>(this.take, [this.namespace]);
        if (taken.rows.length > 0) {
          const written = new Map<string, number>();
          for (const r of taken.rows) {
            const key = rowKey(r);
            written.set(key, Math.max(written.get(key) ?? 0, r.updated_at.getTime()));
          }
          // Rows in key order: two folds locking the same rows take them in the same order.
          const merged = mergeRows(taken.rows, this.s, true).sort((a, b) =>
            compare(metricKey(a), metricKey(b)),
          );
          const at = merged.map((b) => new Date(written.get(metricKey(b)) ?? Date.now()));
          await query(this.upsertFolded, [this.namespace, ...columnsOf(merged), at]);
        }
        await query('COMMIT');
        return taken.rows.length;
      } catch (error) {
        await query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  /** Folds the deltas, then drops buckets and batch numbers not written for `metricsRetentionMs`. */
  async pruneExpired(): Promise<void> {
    // A fold that fails (a broken delta) leaves the deltas to the pruning below, which keeps
    // every bucket written within the retention either way.
    await this.fold().catch(() => {});
    await this.statements.query('pruneMetrics', this.prune, [this.namespace, this.retentionMs]);
  }
}

/** The rows of buckets as one array per column, for `unnest`. */
function columnsOf(buckets: readonly MetricBucket[]): unknown[][] {
  const n = buckets.length;
  const columns: unknown[][] = Array.from({ length: 11 }, () => new Array<unknown>(n));
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    columns[0]![i] = b.feature;
    columns[1]![i] = b.arm;
    columns[2]![i] = b.stage ?? 0;
    columns[3]![i] = b.bucketStart;
    columns[4]![i] = b.calls;
    columns[5]![i] = b.successes;
    columns[6]![i] = b.failures;
    columns[7]![i] = b.latencyCount;
    columns[8]![i] = b.latencySumMs;
    columns[9]![i] = JSON.stringify(b.histogram);
    columns[10]![i] = JSON.stringify(b.users);
  }
  return columns;
}

function rowKey(r: BucketRow): string {
  return `${r.feature}|${r.arm}|${r.stage === 0 ? '' : r.stage}|${Number(r.bucket_start)}`;
}

/** Decodes and checks rows, merging those of one bucket (a folded row and its deltas). */
function mergeRows(rows: readonly BucketRow[], s: string, users: boolean): MetricBucket[] {
  const byKey = new Map<string, MetricBucket>();
  const shared = new Set<string>();
  for (const r of rows) {
    const bucket = validStoredBucket(
      {
        feature: r.feature,
        arm: r.arm,
        bucketStart: Number(r.bucket_start),
        ...(r.stage === 0 ? {} : { stage: r.stage }),
        calls: Number(r.calls),
        successes: Number(r.successes),
        failures: Number(r.failures),
        latencyCount: Number(r.latency_count),
        latencySumMs: r.latency_sum_ms,
        histogram: r.histogram,
        users: r.users,
      },
      PKG,
      `metric bucket (${r.feature}, ${r.arm}, ${r.bucket_start}) in ${s}`,
    );
    const key = metricKey(bucket);
    const first = byKey.get(key);
    if (first === undefined) {
      byKey.set(key, bucket);
      continue;
    }
    // The first row of a key is the decoded row itself; it is copied before anything is added.
    let into = first;
    if (!shared.has(key)) {
      into = mergeMetricBucket(
        emptyMetricBucket(first.feature, first.arm, first.bucketStart, first.stage),
        first,
      );
      byKey.set(key, into);
      shared.add(key);
    }
    mergeMetricBucket(into, bucket, { users });
  }
  return [...byKey.values()];
}

/**
 * The flush: its rows come as one JSON array of buckets (`json_to_recordset`), so the statement
 * is the same for any number of rows and PostgreSQL plans it once; keys a bucket has beyond these
 * are not read. With `claim`, the batch's number is recorded for its writer in the same
 * statement, and the rows are added only if that number is above the last one recorded: a batch
 * sent again adds nothing.
 */
function appendSql(s: string, claim: boolean): string {
  return `${
    claim
      ? `WITH claim AS (
  INSERT INTO ${s}.metric_batches AS b (namespace, writer, seq) VALUES ($1, $3, $4)
  ON CONFLICT (namespace, writer) DO UPDATE SET seq = EXCLUDED.seq, updated_at = now()
  WHERE b.seq < EXCLUDED.seq
  RETURNING 1
)
`
      : ''
  }INSERT INTO ${s}.metric_deltas (namespace, ${COLUMNS})
SELECT $1, d.feature, d.arm, coalesce(d.stage, 0), d."bucketStart", d.calls, d.successes, d.failures,
  d."latencyCount", d."latencySumMs", d.histogram, d.users
FROM json_to_recordset($2::json) AS d(feature text, arm text, stage integer, "bucketStart" bigint,
  calls bigint, successes bigint, failures bigint, "latencyCount" bigint, "latencySumMs" double precision,
  histogram json, users json)
${claim ? 'WHERE EXISTS (SELECT 1 FROM claim)' : ''}`;
}

/** The fold's upsert: one row per bucket (merged first), keeping the latest write time. */
function foldSql(s: string): string {
  return `INSERT INTO ${s}.metrics AS m (namespace, ${COLUMNS}, updated_at)
SELECT $1, d.* FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[], $6::bigint[], $7::bigint[],
  $8::bigint[], $9::bigint[], $10::double precision[], $11::jsonb[], $12::jsonb[], $13::timestamptz[]) AS d
ON CONFLICT (namespace, bucket_start, feature, arm, stage) DO UPDATE SET
  calls = LEAST(m.calls + EXCLUDED.calls, ${MAX_METRIC_COUNT}),
  successes = LEAST(m.successes + EXCLUDED.successes, ${MAX_METRIC_COUNT}),
  failures = LEAST(m.failures + EXCLUDED.failures, ${MAX_METRIC_COUNT}),
  latency_count = LEAST(m.latency_count + EXCLUDED.latency_count, ${MAX_METRIC_COUNT}),
  latency_sum_ms = ${s}.add_latency(m.latency_sum_ms, EXCLUDED.latency_sum_ms),
  histogram = ${s}.sum_counts(m.histogram, EXCLUDED.histogram),
  users = ${s}.max_registers(m.users, EXCLUDED.users),
  updated_at = GREATEST(m.updated_at, EXCLUDED.updated_at)`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
