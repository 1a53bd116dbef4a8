import { emptyMetricBucket, type MetricBucket, mergeMetricBucket, metricKey } from '@canary-rollout/core';

/**
 * Adds `deltas` into `stored` (one merged bucket per feature, arm and bucket start) and drops
 * buckets older than `retentionMs`. Age is measured from the newest bucket, or from `now` when
 * that is earlier, so a writer with a clock far ahead cannot wipe the others' recent buckets.
 */
export function mergeAndPrune(
  stored: readonly MetricBucket[],
  deltas: readonly MetricBucket[],
  now: number,
  retentionMs: number,
): MetricBucket[] {
  const byKey = new Map<string, MetricBucket>();
  for (const bucket of stored) byKey.set(metricKey(bucket), bucket);
  for (const delta of deltas) {
    const key = metricKey(delta);
    let target = byKey.get(key);
    if (target === undefined) {
      target = emptyMetricBucket(delta.feature, delta.arm, delta.bucketStart);
      byKey.set(key, target);
    }
    mergeMetricBucket(target, delta);
  }
  let newest = 0;
  for (const bucket of byKey.values()) newest = Math.max(newest, bucket.bucketStart);
  const cutoff = Math.min(newest, now) - retentionMs;
  return [...byKey.values()]
    .filter((bucket) => bucket.bucketStart >= cutoff)
    .sort((a, b) => a.bucketStart - b.bucketStart);
}
