import {
  addCounts,
  isHistogram,
  type MetricBatch,
  type MetricBucket,
  parseJsonText,
  StoreDataCorruptedError,
  validStoredBucket,
} from '@canary-rollout/core/store-kit';
import { PREFIX, STORE_NAME } from './constants';
import { mergeRegisters, sparseRegisters } from './metric-codec';
import type { MetricRow, Statements } from './statements';

/** How often, at most, buckets past retention are deleted (ms of the store's clock). */
const PRUNE_EVERY_MS = 60_000;

/**
 * Metric buckets in SQLite: one row per (feature, arm, stage, bucketStart), stage 0 for buckets
 * without one. Counters are summed (saturating) by the upsert itself; the histogram (JSON object,
 * bin to count) and the HyperLogLog registers (a blob, byte i = rank of register i) are merged in
 * JS inside the same IMMEDIATE transaction, which no other writer can interleave with: exact.
 */
export class MetricWriter {
  private nextPruneAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly st: Statements,
    private readonly settings: { readonly metricRetentionMs: number; readonly now: () => number },
  ) {}

  /**
   * Adds a validated batch; call inside a write transaction. A batch whose number is not above
   * its writer's last applied one is skipped; the number is noted in the same transaction.
   */
  apply(deltas: readonly MetricBucket[], batch?: MetricBatch): void {
    const st = this.st;
    if (batch !== undefined) {
      const last = st.lastBatch.get(batch.writer);
      if (last !== undefined && batch.seq <= last) return;
      st.putBatch.run(batch.writer, batch.seq, this.settings.now());
    }
    let newest = Number.NEGATIVE_INFINITY;
    for (const d of deltas) {
      if (d.bucketStart > newest) newest = d.bucketStart;
      const stage = d.stage ?? 0;
      const [stored, registers] = st.metricMerged.get(d.feature, d.arm, stage, d.bucketStart) ?? [];
      const histogram = JSON.stringify(stored === undefined ? d.histogram : this.merged(stored, d));
      st.upsertMetric.run({ ...d, stage, histogram, users: mergeRegisters(registers, d.users) });
    }
    this.prune(newest);
  }

  /** Merged buckets with `bucketStart >= since`, oldest first, validated; registers only with `users`. */
  read(since: number, features: readonly string[] | undefined, users: boolean): MetricBucket[] {
    if (features !== undefined && features.length === 0) return [];
    const st = this.st;
    const rows =
      features === undefined
        ? (users ? st.metricsSince : st.countsSince).all(since)
        : (users ? st.metricsSinceOf : st.countsSinceOf).all(since, JSON.stringify(features));
    return rows.map((row) => this.bucketFrom(row));
  }

  private bucketFrom(row: MetricRow): MetricBucket {
    const location = `metric bucket ${row.feature}/${row.arm}/${row.stage}/${row.bucket_start}`;
    const bucket = {
      feature: row.feature,
      arm: row.arm,
      bucketStart: row.bucket_start,
      ...(row.stage === 0 ? {} : { stage: row.stage }),
      calls: row.calls,
      successes: row.successes,
      failures: row.failures,
      latencyCount: row.latency_count,
      latencySumMs: row.latency_sum_ms,
      histogram: parseJsonText(row.histogram, STORE_NAME, location),
      users: row.users === undefined ? {} : sparseRegisters(row.users),
    };
    return validStoredBucket(bucket, STORE_NAME, location);
  }

  /** A stored histogram (JSON) with the bins of `delta` added. */
  private merged(text: string, delta: MetricBucket): Record<string, number> {
    const location = `metric bucket ${delta.feature}/${delta.arm}/${delta.bucketStart}`;
    const value = parseJsonText(text, STORE_NAME, location);
    // Adding to a histogram that is not one would hide the damage; report it instead.
    if (!isHistogram(value)) {
      throw new StoreDataCorruptedError(
        `${PREFIX}: corrupted data in ${location}: histogram is not bin to count`,
      );
    }
    for (const bin in delta.histogram) value[bin] = addCounts(value[bin] ?? 0, delta.histogram[bin] ?? 0);
    return value;
  }

  /**
   * Deletes buckets older than the retention, counted back from the newest bucket just written
   * but never from later than the clock: a process with a clock set far ahead cannot wipe the
   * history, and data stamped in the past (imports, tests) is not deleted as it arrives.
   */
  private prune(newest: number): void {
    const retention = this.settings.metricRetentionMs;
    if (!Number.isFinite(retention) || newest === Number.NEGATIVE_INFINITY) return;
    const now = this.settings.now();
    if (now < this.nextPruneAt) return;
    this.nextPruneAt = now + PRUNE_EVERY_MS;
    this.st.pruneMetrics.run(Math.min(now, newest) - retention);
    // Writers silent for the retention are forgotten: their buckets are gone as well.
    this.st.pruneBatches.run(now - retention);
  }
}
