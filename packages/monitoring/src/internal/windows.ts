import {
  emptyMetricBucket,
  type FeatureRecord,
  type MetricBucket,
  type MetricsSummary,
  mergeMetricBucket,
  summarize,
  TREATMENT_ARM,
} from '@canary-rollout/core';

/** A feature's figures over the current window and the one before it. */
export interface FeatureWindows {
  readonly current: MetricsSummary;
  readonly previous: MetricsSummary;
  /** The merged counts behind `current`. */
  readonly counts: MetricBucket;
}

/**
 * Splits fleet-wide buckets (read from `now - 2 * windowMs`) into windows per feature.
 *
 * The current window of a feature starts at the later of `now - windowMs` and the start of its
 * current stage: calls made before a rollback or a percentage change belong to the stage they
 * were made in, so a rolled-back feature is not judged again on the calls that condemned it. A
 * time bucket that straddles the stage start is left out for the same reason.
 */
export function splitWindows(
  buckets: readonly MetricBucket[],
  features: readonly FeatureRecord[],
  now: number,
  windowMs: number,
): Map<string, FeatureWindows> {
  const windowStart = now - windowMs;
  const previousStart = now - 2 * windowMs;
  const totals = new Map<string, { current: MetricBucket; previous: MetricBucket; from: number }>();
  for (const record of features) {
    totals.set(record.name, {
      current: emptyMetricBucket(record.name, TREATMENT_ARM, 0),
      previous: emptyMetricBucket(record.name, TREATMENT_ARM, 0),
      from: Math.max(windowStart, record.stageStartedAt),
    });
  }
  for (const bucket of buckets) {
    if (bucket.arm !== TREATMENT_ARM) continue;
    const total = totals.get(bucket.feature);
    if (total === undefined || bucket.bucketStart > now) continue;
    if (bucket.bucketStart >= total.from) {
      addCounts(total.current, bucket);
    } else if (bucket.bucketStart >= previousStart && bucket.bucketStart < windowStart) {
      addCounts(total.previous, bucket);
    }
  }
  const out = new Map<string, FeatureWindows>();
  for (const [name, total] of totals) {
    out.set(name, {
      current: summarize(total.current),
      previous: summarize(total.previous),
      counts: total.current,
    });
  }
  return out;
}

/** The current windows of the given features merged: the fleet-wide figures. */
export function mergeWindows(windows: Iterable<FeatureWindows>): MetricsSummary {
  const total = emptyMetricBucket('*', TREATMENT_ARM, 0);
  for (const w of windows) addCounts(total, w.counts);
  return summarize(total);
}

/** Counts and latency bins; the verdict does not use the user registers, most of a bucket's size. */
function addCounts(into: MetricBucket, bucket: MetricBucket): void {
  mergeMetricBucket(into, bucket, { users: false });
}
