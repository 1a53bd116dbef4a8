import type { MetricBucket } from '../schemas/records';
import { emptyMetricBucket, mergeMetricBucket } from '../storage/metric-merge';
import { histogramQuantile } from './histogram';
import { hllEstimate } from './hyperloglog';

/** Health figures of a feature over a window: what `getRolloutStatus` and the monitor report. */
export interface MetricsSummary {
  readonly calls: number;
  readonly successfulCalls: number;
  readonly failedCalls: number;
  /** failed / calls; null with no calls. */
  readonly errorRate: number | null;
  /** successful / calls; null with no calls. */
  readonly successRate: number | null;
  /** Mean latency (ms) of calls that reported one; null when none did. */
  readonly averageLatency: number | null;
  readonly p50Latency: number | null;
  readonly p95Latency: number | null;
  /** Estimated distinct users (HyperLogLog, about ±2.3 %). */
  readonly activeUsers: number;
}

/** Merges buckets (any features or arms the caller selected) into one. */
export function mergeAll(buckets: Iterable<MetricBucket>, feature = '*', arm = '*'): MetricBucket {
  const total = emptyMetricBucket(feature, arm, 0);
  for (const bucket of buckets) mergeMetricBucket(total, bucket);
  return total;
}

/** Summary figures of one merged bucket. */
export function summarize(bucket: MetricBucket): MetricsSummary {
  const { calls } = bucket;
  return {
    calls,
    successfulCalls: bucket.successes,
    failedCalls: bucket.failures,
    errorRate: calls === 0 ? null : bucket.failures / calls,
    successRate: calls === 0 ? null : bucket.successes / calls,
    averageLatency: bucket.latencyCount === 0 ? null : bucket.latencySumMs / bucket.latencyCount,
    p50Latency: histogramQuantile(bucket.histogram, 0.5),
    p95Latency: histogramQuantile(bucket.histogram, 0.95),
    activeUsers: hllEstimate(bucket.users),
  };
}

/** Buckets of one feature and arm whose start lies in [from, to). */
export function selectWindow(
  buckets: readonly MetricBucket[],
  feature: string,
  from: number,
  to: number,
  arm = 'treatment',
): MetricBucket[] {
  return buckets.filter(
    (b) => b.feature === feature && b.arm === arm && b.bucketStart >= from && b.bucketStart < to,
  );
}
