import type { MetricBucket } from '../schemas/records';
import { emptyMetricBucket, mergeMetricBucket } from '../storage/metric-merge';
import { TREATMENT_ARM } from './arm-names';
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

/**
 * `whole` without `part`'s calls: counts and latency bins subtracted (never below 0), users kept
 * as they are (a register cannot be subtracted). The comparison takes beta members' calls out of
 * the treatment with it.
 */
export function withoutPart(whole: MetricBucket, part: MetricBucket | undefined): MetricBucket {
  if (part === undefined) return whole;
  const histogram: Record<string, number> = { ...whole.histogram };
  for (const bin in part.histogram) {
    const left = (histogram[bin] ?? 0) - (part.histogram[bin] ?? 0);
    if (left > 0) histogram[bin] = left;
    else delete histogram[bin];
  }
  return {
    ...whole,
    calls: Math.max(0, whole.calls - part.calls),
    successes: Math.max(0, whole.successes - part.successes),
    failures: Math.max(0, whole.failures - part.failures),
    latencyCount: Math.max(0, whole.latencyCount - part.latencyCount),
    latencySumMs: Math.max(0, whole.latencySumMs - part.latencySumMs),
    histogram,
  };
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
  arm = TREATMENT_ARM,
): MetricBucket[] {
  return buckets.filter(
    (b) => b.feature === feature && b.arm === arm && b.bucketStart >= from && b.bucketStart < to,
  );
}
