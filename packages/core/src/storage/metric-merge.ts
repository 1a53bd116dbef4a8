import type { MetricBucket } from '../schemas/records';

/** Key of a metric bucket: feature, arm, stage and bucket start. */
export function metricKey(bucket: Pick<MetricBucket, 'feature' | 'arm' | 'bucketStart' | 'stage'>): string {
  return `${bucket.feature}|${bucket.arm}|${bucket.stage ?? ''}|${bucket.bucketStart}`;
}

/** The most a bucket's counter holds: sums stop here rather than lose precision or overflow. */
export const MAX_METRIC_COUNT = Number.MAX_SAFE_INTEGER;

/** `a + b` for counters, saturating at `MAX_METRIC_COUNT`. */
export function addCounts(a: number, b: number): number {
  const sum = a + b;
  return Math.min(sum, MAX_METRIC_COUNT);
}

/** `a + b` for latency sums, saturating at the largest finite number. */
export function addLatency(a: number, b: number): number {
  const sum = a + b;
  return Math.min(sum, Number.MAX_VALUE);
}

/** An empty bucket for a key. */
export function emptyMetricBucket(
  feature: string,
  arm: string,
  bucketStart: number,
  stage?: number,
): MetricBucket {
  return {
    feature,
    arm,
    bucketStart,
    ...(stage === undefined ? {} : { stage }),
    calls: 0,
    successes: 0,
    failures: 0,
    latencyCount: 0,
    latencySumMs: 0,
    histogram: {},
    users: {},
  };
}

/**
 * Adds `delta` into `into` (mutating it): counts summed, histogram bins summed, user registers
 * maxed. With `users: false` the registers are skipped (they are most of a bucket's size).
 */
export function mergeMetricBucket(
  into: MetricBucket,
  delta: MetricBucket,
  options: { readonly users?: boolean } = {},
): MetricBucket {
  into.calls = addCounts(into.calls, delta.calls);
  into.successes = addCounts(into.successes, delta.successes);
  into.failures = addCounts(into.failures, delta.failures);
  into.latencyCount = addCounts(into.latencyCount, delta.latencyCount);
  into.latencySumMs = addLatency(into.latencySumMs, delta.latencySumMs);
  // An indexed loop over the keys: the monitor merges every bucket of the window on each tick,
  // and this is measurably faster there than for...in over these integer-like keys.
  const bins = Object.keys(delta.histogram);
  for (let i = 0; i < bins.length; i++) {
    const bin = bins[i]!;
    into.histogram[bin] = addCounts(into.histogram[bin] ?? 0, delta.histogram[bin] ?? 0);
  }
  if (options.users === false) return into;
  const regs = Object.keys(delta.users);
  for (let i = 0; i < regs.length; i++) {
    const reg = regs[i]!;
    const rank = delta.users[reg] ?? 0;
    if (rank > (into.users[reg] ?? 0)) into.users[reg] = rank;
  }
  return into;
}

/** Merges buckets with the same key into one each (fresh objects; inputs untouched). */
export function mergeMetricBuckets(buckets: Iterable<MetricBucket>): MetricBucket[] {
  const byKey = new Map<string, MetricBucket>();
  for (const b of buckets) {
    const key = metricKey(b);
    let target = byKey.get(key);
    if (target === undefined) {
      target = emptyMetricBucket(b.feature, b.arm, b.bucketStart, b.stage);
      byKey.set(key, target);
    }
    mergeMetricBucket(target, b);
  }
  return [...byKey.values()];
}
