import { emptyMetricBucket, type MetricBucket, mergeMetricBucket, metricKey } from '@canary-rollout/core';

/** Adds `deltas` into `stored`: one merged bucket per feature, arm, stage and bucket start, sorted by start. */
export function mergeBuckets(
  stored: readonly MetricBucket[],
  deltas: readonly MetricBucket[],
): MetricBucket[] {
  const byKey = new Map<string, MetricBucket>();
  for (const bucket of stored) byKey.set(metricKey(bucket), bucket);
  for (const delta of deltas) {
    const key = metricKey(delta);
    let target = byKey.get(key);
    if (target === undefined) {
      target = emptyMetricBucket(delta.feature, delta.arm, delta.bucketStart, delta.stage);
      byKey.set(key, target);
    }
    mergeMetricBucket(target, delta);
  }
  return [...byKey.values()].sort((a, b) => a.bucketStart - b.bucketStart);
}
