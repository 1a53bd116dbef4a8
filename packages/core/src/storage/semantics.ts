import { randomUUID } from 'node:crypto';
import type { FeatureRecord, MetricBucket, RollbackRecord } from '../schemas/records';
import type { RollbackRequest, StoreChange } from './types';

/** Ids for stored records: a prefix and a random UUID. */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID()}`;
}

/** The form of an email used for uniqueness: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** True when nobody can get the feature: not stable, 0 %, empty beta list (or disabled). */
export function isOffForEveryone(feature: FeatureRecord, betaMembers: number): boolean {
  if (!feature.enabled) return true;
  return feature.rolloutStrategy !== 'stable' && feature.rolloutPercentage === 0 && betaMembers === 0;
}

/** Longest rollback reason a record keeps (the schema's limit). */
const MAX_REASON = 1000;

/** What a rollback does to a feature, decided the same way by every store. */
export type RollbackPlan =
  | { readonly performed: false }
  | { readonly performed: true; readonly next: FeatureRecord; readonly record: RollbackRecord };

/**
 * Decides a rollback from the feature as currently stored. The store applies `next` (a full
 * record with the bumped version), clears the beta list and appends `record`, all atomically.
 */
export function planRollback(
  current: FeatureRecord,
  betaMembers: number,
  request: RollbackRequest,
): RollbackPlan {
  if (request.expectedVersion !== undefined && request.expectedVersion !== current.version) {
    return { performed: false };
  }
  if (isOffForEveryone(current, betaMembers)) return { performed: false };
  const next: FeatureRecord = {
    ...current,
    rolloutPercentage: 0,
    rolloutStrategy: current.rolloutStrategy === 'stable' ? 'gradual' : current.rolloutStrategy,
    version: current.version + 1,
    updatedAt: request.at,
    stageStartedAt: request.at,
    stageVersion: current.version + 1,
    lastRollbackAt: request.at,
  };
  const record: RollbackRecord = {
    id: newId('rb'),
    feature: current.name,
    at: request.at,
    // Stored reasons are bounded; a monitor's reason lists every finding and can run long.
    reason:
      request.reason.length > MAX_REASON ? `${request.reason.slice(0, MAX_REASON - 3)}...` : request.reason,
    source: request.source,
    previous: {
      rolloutPercentage: current.rolloutPercentage,
      rolloutStrategy: current.rolloutStrategy,
      betaUsers: betaMembers,
    },
    ...(request.figures === undefined ? {} : { figures: { ...request.figures } }),
  };
  return { performed: true, next, record };
}

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

/** Calls every listener with a change; a listener that throws does not stop the others. */
export function notifyListeners(
  listeners: Iterable<(change: StoreChange) => void>,
  change: StoreChange,
): void {
  for (const listener of [...listeners]) {
    try {
      listener(change);
    } catch {
      // A listener's failure is its own; the store and the other listeners carry on.
    }
  }
}
