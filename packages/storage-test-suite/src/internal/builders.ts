import type { BetaUser, Feedback, MetricBucket } from '@canary-rollout/core';
import type { FeatureWrite, LogEntry, RollbackRequest } from '@canary-rollout/core/store-kit';

/** Width of the metric buckets used by the suite (ms). */
export const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/**
 * The epoch (ms) test data starts from: a whole hour six hours back. Relative to the clock because
 * stores may prune metric buckets by age (a TTL, a retention window); every time the suite writes
 * stays within a few hours after it, and every expectation is relative to it.
 */
export const T0 = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;

let sequence = 0;
/** A number unique within this process, for ids and emails. */
export function nextId(): number {
  sequence += 1;
  return sequence;
}

/** A valid feature write: a gradual rollout at 25 %. */
export function makeFeature(overrides: Partial<FeatureWrite> = {}): FeatureWrite {
  const name = overrides.name ?? 'search';
  return {
    name,
    enabled: true,
    rolloutPercentage: 25,
    rolloutStrategy: 'gradual',
    salt: name,
    updatedAt: T0,
    stageStartedAt: T0,
    ...overrides,
  };
}

/** A valid user with a unique id and email. */
export function makeUser(overrides: Partial<BetaUser> = {}): BetaUser {
  const n = nextId();
  return {
    id: `user-${n}`,
    email: `person.${n}@example.com`,
    name: `Person ${n}`,
    interests: [],
    createdAt: T0 + n,
    ...overrides,
  };
}

/** A valid piece of feedback. */
export function makeFeedback(overrides: Partial<Feedback> = {}): Feedback {
  const n = nextId();
  return {
    id: `fb-${n}`,
    userId: 'user-1',
    feature: 'search',
    rating: 4,
    comment: 'Sorted my invoices nicely',
    at: T0 + n,
    ...overrides,
  };
}

/** A metric delta with a few calls, two histogram bins and two user registers. */
export function makeBucket(overrides: Partial<MetricBucket> = {}): MetricBucket {
  return {
    feature: 'search',
    arm: 'treatment',
    bucketStart: T0,
    calls: 10,
    successes: 9,
    failures: 1,
    latencyCount: 10,
    latencySumMs: 1200,
    histogram: { '40': 6, '48': 4 },
    users: { '7': 3, '1500': 1 },
    ...overrides,
  };
}

/** A log entry at `at` with a few typical fields. */
export function makeLog(at: number, extra: Record<string, unknown> = {}): LogEntry {
  return { at, level: 'warning', feature: 'search', figures: { errorRate: 0.07 }, ...extra };
}

/** A manual rollback request at `at`. */
export function makeRollback(overrides: Partial<RollbackRequest> = {}): RollbackRequest {
  return { reason: 'error rate above 5 %', source: 'manual', at: T0 + MINUTE, ...overrides };
}
