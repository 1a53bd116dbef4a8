import {
  isHistogram,
  type MetricBatch,
  type MetricBucket,
  parseJsonText,
  StoreDataCorruptedError,
  validStoredBucket,
} from '@canary-rollout/core/store-kit';
import { PREFIX, STORE_NAME } from './constants';
import { mergeHistogram, mergeRegisters, sparseRegisters } from './metric-codec';
import type { MetricRow, Statements } from './statements';

/** How often, at most, buckets past retention are deleted (ms of the store's clock). */
const PRUNE_EVERY_MS = 60_000;

/**
 * Metric buckets in SQLite: one row per (feature, arm, stage, bucketStart), stage 0 for buckets
 * without one. Counters are summed (saturating) by the
 * upsert itself; the histogram (JSON object, bin to count) and the HyperLogLog registers (a
 * blob, byte i = rank of register i) are merged in JS inside the same IMMEDIATE transaction,
 * which no other writer can interleave with, so merging is exact.
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
      const row = st.metricMerged.get(d.feature, d.arm, stage, d.bucketStart);
      const histogram =
        row === undefined ? d.histogram : mergeHistogram(this.storedHistogram(row[0], d), d.histogram);
      const users = mergeRegisters(row?.[1], d.users);
      st.upsertMetric.run({ ...d, stage, histogram: JSON.stringify(histogram), users });
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
    return validStoredBucket(
      {
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
      },
      STORE_NAME,
      location,
    );
  }

  private storedHistogram(text: string, at: MetricBucket): Record<string, number> {
    const location = `metric bucket ${at.feature}/${at.arm}/${at.bucketStart}`;
    const value = parseJsonText(text, STORE_NAME, location);
    // Adding to a histogram that is not one would hide the damage; report it instead.
    if (!isHistogram(value)) {
      throw new StoreDataCorruptedError(
        `${PREFIX}: corrupted data in ${location}: histogram is not bin to count`,
      );
    }
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
