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
 * The current window of a feature holds the calls of its current stage: buckets recorded under
 * the record's `stageVersion`, the bucket in which the stage began included, whatever the clocks
 * of the processes that wrote the stage and the buckets say; wall time only bounds it to
 * `windowMs`. Calls made before a rollback or a percentage change belong to the stage they were
 * made in, so a rolled-back feature is not judged again on the calls that condemned it. Buckets
 * without a stage (written by older versions) are placed by time: from the later of the window
 * start and the stage start, leaving out the bucket that straddles it.
 */
export function splitWindows(
  buckets: readonly MetricBucket[],
  features: readonly FeatureRecord[],
  now: number,
  windowMs: number,
): Map<string, FeatureWindows> {
  const windowStart = now - windowMs;
  const previousStart = now - 2 * windowMs;
  const totals = new Map<
    string,
    { current: MetricBucket; previous: MetricBucket; from: number; stage: number | undefined }
  >();
  for (const record of features) {
    totals.set(record.name, {
      current: emptyMetricBucket(record.name, TREATMENT_ARM, 0),
      previous: emptyMetricBucket(record.name, TREATMENT_ARM, 0),
      from: Math.max(windowStart, record.stageStartedAt),
      stage: record.stageVersion,
    });
  }
  for (const bucket of buckets) {
    if (bucket.arm !== TREATMENT_ARM) continue;
    const total = totals.get(bucket.feature);
    if (total === undefined) continue;
    const current =
      bucket.stage === undefined || total.stage === undefined
        ? bucket.bucketStart >= total.from && bucket.bucketStart <= now
        : bucket.stage === total.stage && bucket.bucketStart >= windowStart;
    if (current) {
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

/** Skew tolerated between the clocks of the processes before it is reported (ms). */
export const CLOCK_SKEW_TOLERANCE_MS = 5000;

/**
 * How far (ms) the latest time another process wrote lies ahead of this clock: a bucket starts
 * at or before its writer's now, and a record is stamped with its writer's now, so a time
 * beyond `now` means a writer's clock is ahead of this one (or this one went back). 0 when none.
 */
export function clockAhead(
  buckets: readonly MetricBucket[],
  features: readonly FeatureRecord[],
  now: number,
): number {
  let latest = now;
  for (const bucket of buckets) if (bucket.bucketStart > latest) latest = bucket.bucketStart;
  for (const record of features) {
    if (record.updatedAt > latest) latest = record.updatedAt;
    if (record.stageStartedAt > latest) latest = record.stageStartedAt;
  }
  return latest - now;
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
