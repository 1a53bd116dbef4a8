import type { MetricBatch, MetricBucket } from '@canary-rollout/core';
import type { Statements } from './connection';
import { mergeMetricBuckets } from './contract';

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
  private readonly upsert: string;
  private readonly prune: string;
  /** Batches of calls without an id are numbered per handle. */
  private seq = 0;

  constructor(
    private readonly statements: Statements,
    private readonly s: string,
    private readonly namespace: string,
    private readonly handle: string,
    private readonly retentionMs: number,
  ) {
    this.upsert = `WITH claim AS (
  INSERT INTO ${s}.metric_batches AS b (namespace, writer, seq) VALUES ($1, $2, $3)
  ON CONFLICT (namespace, writer) DO UPDATE SET seq = EXCLUDED.seq, updated_at = now()
  WHERE b.seq < EXCLUDED.seq
  RETURNING 1
)
INSERT INTO ${s}.metrics AS m (namespace, feature, arm, stage, bucket_start, calls, successes, failures,
  latency_count, latency_sum_ms, histogram, users)
SELECT $1, d.feature, d.arm, d.stage, d.bucket_start, d.calls, d.successes, d.failures, d.latency_count,
  d.latency_sum_ms, d.histogram, d.users
FROM unnest($4::text[], $5::text[], $6::integer[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
  $11::bigint[], $12::double precision[], $13::jsonb[], $14::jsonb[])
  AS d(feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram, users)
WHERE EXISTS (SELECT 1 FROM claim)
ON CONFLICT (namespace, bucket_start, feature, arm, stage) DO UPDATE SET
  calls = LEAST(m.calls + EXCLUDED.calls, ${MAX_COUNT}),
  successes = LEAST(m.successes + EXCLUDED.successes, ${MAX_COUNT}),
  failures = LEAST(m.failures + EXCLUDED.failures, ${MAX_COUNT}),
  latency_count = LEAST(m.latency_count + EXCLUDED.latency_count, ${MAX_COUNT}),
  latency_sum_ms = ${s}.add_latency(m.latency_sum_ms, EXCLUDED.latency_sum_ms),
  histogram = ${s}.sum_counts(m.histogram, EXCLUDED.histogram),
  users = ${s}.max_registers(m.users, EXCLUDED.users),
  updated_at = now()`;
    this.prune = `WITH gone AS (
  DELETE FROM ${s}.metrics WHERE namespace = $1 AND updated_at < now() - $2 * interval '1 millisecond'
)
DELETE FROM ${s}.metric_batches WHERE namespace = $1 AND updated_at < now() - $2 * interval '1 millisecond'`;
  }

  /** One statement; exactly once by `batch` (or by this handle's own numbering without one). */
  async add(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    if (deltas.length === 0) return;
    // One INSERT may not touch a row twice, so deltas of one bucket become one row first.
    const rows = mergeMetricBuckets(deltas);
    const writer = batch === undefined ? `handle:${this.handle}` : `writer:${batch.writer}`;
    const seq = batch === undefined ? ++this.seq : batch.seq;
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
    await this.statements.query('addMetrics', this.upsert, [this.namespace, writer, seq, ...columns]);
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
      .map(
        (r): MetricBucket => ({
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
        }),
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

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
