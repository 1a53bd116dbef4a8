import type { MetricBucket } from '@canary-rollout/core';

/**
 * Whether two reads of the same bucket hold the same counts. Deltas only add, and every latency
 * adds to both `latencyCount` and a bin, so equal counts mean equal bins too.
 */
export function sameCounts(a: MetricBucket, b: MetricBucket): boolean {
  return (
    a.calls === b.calls &&
    a.successes === b.successes &&
    a.failures === b.failures &&
    a.latencyCount === b.latencyCount &&
    a.latencySumMs === b.latencySumMs
  );
}
