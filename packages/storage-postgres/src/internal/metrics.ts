import type { MetricBucket } from '@canary-rollout/core';
import {
  type MetricBatch,
  mergeMetricBuckets,
  metricBucketSchema,
  parseStored,
} from '@canary-rollout/core/store-kit';
import { PKG } from '../options';
import type { Statements } from './connection';

/** The largest counter, as in core: sums stop here. */
const MAX_COUNT = 9_007_199_254_740_991;

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

/**
 * Metric buckets in one table, a row per (namespace, bucket start, feature, arm, stage). A flush
 * is ONE statement: a multi-row `INSERT ... ON CONFLICT DO UPDATE` (counts summed saturating,
 * registers maxed) behind a claim of the batch number, so a batch sent twice is applied once.
 */
export class MetricsTable {
  /** The flush of a batch with an id: applied only if its number is new for its writer. */
  private readonly claimed: string;
  /** A flush without an id, applied as it comes. */
  private readonly plain: string;
  private readonly prune: string;

  constructor(
    private readonly statements: Statements,
    private readonly s: string,
    private readonly namespace: string,
    private readonly retentionMs: number,
  ) {
    this.claimed = upsertSql(s, true);
    this.plain = upsertSql(s, false);
    this.prune = `WITH gone AS (
  DELETE FROM ${s}.metrics WHERE namespace = $1 AND updated_at < now() - $2 * interval '1 millisecond'
)
DELETE FROM ${s}.metric_batches WHERE namespace = $1 AND updated_at < now() - $2 * interval '1 millisecond'`;
  }

  /** One statement; exactly once by `batch` when given. */
  async add(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    if (deltas.length === 0) return;
    // One INSERT may not touch a row twice, so deltas of one bucket become one row first.
    const rows = mergeMetricBuckets(deltas);
    const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
    for (const b of rows) {
      const values = [
        b.feature,
        b.arm,
        b.stage ?? 0,
        b.bucketStart,
        b.calls,
        b.successes,
        b.failures,
        b.latencyCount,
        b.latencySumMs,
        JSON.stringify(b.histogram),
        JSON.stringify(b.users),
      ];
      for (let i = 0; i < values.length; i++) columns[i]?.push(values[i]);
    }
    await this.statements.query(
      'addMetrics',
      batch === undefined ? this.plain : this.claimed,
      batch === undefined
        ? [this.namespace, ...columns]
        : [this.namespace, ...columns, batch.writer, batch.seq],
    );
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
    let where = `namespace = $1 AND updated_at >= now() - $2 * interval '1 millisecond'`;
    if (bounded) {
      values.push(since);
      where += ` AND bucket_start >= $${values.length}::double precision`;
    }
    if (features !== undefined) {
      values.push([...features]);
      where += ` AND feature = ANY($${values.length}::text[])`;
    }
    const result = await this.statements.query<BucketRow>(
      'readMetrics',
      `SELECT feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms,
         histogram, ${users ? 'users' : `'{}'::jsonb AS users`}
       FROM ${this.s}.metrics WHERE ${where}`,
      values,
    );
    return result.rows
      .map((r) =>
        parseStored(
          metricBucketSchema,
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
          `metric bucket (${r.feature}, ${r.arm}, ${r.bucket_start}) in ${this.s}.metrics`,
        ),
      )
      .sort(
        (a, b) =>
          a.bucketStart - b.bucketStart ||
          compare(a.feature, b.feature) ||
          compare(a.arm, b.arm) ||
          (a.stage ?? 0) - (b.stage ?? 0),
      );
  }

  /** Drops buckets and batch numbers not written for `metricsRetentionMs`. */
  async pruneExpired(): Promise<void> {
    await this.statements.query('pruneMetrics', this.prune, [this.namespace, this.retentionMs]);
  }
}

/**
 * The multi-row upsert of a flush: the rows come as one array per column (`unnest`), so the
 * statement is the same for any number of rows and PostgreSQL plans it once. With `claim`, the
 * batch's number is recorded for its writer in the same statement, and the rows are applied only
 * if that number is above the last one recorded: a batch sent again adds nothing.
 */
function upsertSql(s: string, claim: boolean): string {
  return `${
    claim
      ? `WITH claim AS (
  INSERT INTO ${s}.metric_batches AS b (namespace, writer, seq) VALUES ($1, $13, $14)
  ON CONFLICT (namespace, writer) DO UPDATE SET seq = EXCLUDED.seq, updated_at = now()
  WHERE b.seq < EXCLUDED.seq
  RETURNING 1
)
`
      : ''
  }INSERT INTO ${s}.metrics AS m (namespace, feature, arm, stage, bucket_start, calls, successes, failures,
  latency_count, latency_sum_ms, histogram, users)
SELECT $1, d.feature, d.arm, d.stage, d.bucket_start, d.calls, d.successes, d.failures, d.latency_count,
  d.latency_sum_ms, d.histogram, d.users
FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
  $9::bigint[], $10::double precision[], $11::jsonb[], $12::jsonb[])
  AS d(feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram, users)
${claim ? 'WHERE EXISTS (SELECT 1 FROM claim)\n' : ''}ON CONFLICT (namespace, bucket_start, feature, arm, stage) DO UPDATE SET
  calls = LEAST(m.calls + EXCLUDED.calls, ${MAX_COUNT}),
  successes = LEAST(m.successes + EXCLUDED.successes, ${MAX_COUNT}),
  failures = LEAST(m.failures + EXCLUDED.failures, ${MAX_COUNT}),
  latency_count = LEAST(m.latency_count + EXCLUDED.latency_count, ${MAX_COUNT}),
  latency_sum_ms = ${s}.add_latency(m.latency_sum_ms, EXCLUDED.latency_sum_ms),
  histogram = ${s}.sum_counts(m.histogram, EXCLUDED.histogram),
  users = ${s}.max_registers(m.users, EXCLUDED.users),
  updated_at = now()`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
