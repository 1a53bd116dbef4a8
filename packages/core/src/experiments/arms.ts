import { BUCKETS, bucketFromPrefix, type MurmurPrefix } from '../bucketing';
import { CONTROL_ARM, TREATMENT_ARM } from '../metrics/arm-names';

/** Which side of a comparison a user is on; null for users in neither group. */
export type ComparisonArm = typeof TREATMENT_ARM | typeof CONTROL_ARM;

/** A half-open range of buckets [start, end). Empty when start === end. */
export interface BucketRange {
  readonly start: number;
  readonly end: number;
}

function clampThreshold(threshold: number): number {
  if (!(threshold > 0)) return 0;
  return threshold >= BUCKETS ? BUCKETS : Math.floor(threshold);
}

/**
 * The control group of a gradual rollout whose treated buckets are [0, T): the buckets
 * [T, min(2T, BUCKETS)). It is as large as the treatment up to 50 %; above 50 % only
 * BUCKETS − T buckets are left, so the control shrinks to (100 − p) % and is empty at 100 %.
 */
export function controlRange(threshold: number): BucketRange {
  const t = clampThreshold(threshold);
  return { start: t, end: Math.min(2 * t, BUCKETS) };
}

/**
 * The arm of a bucket for a gradual rollout with `threshold` = percentage × 100: `treatment`
 * below it (exactly the users the evaluation turns on), `control` in `controlRange`, else null.
 *
 * Raising the threshold moves users control -> treatment and null -> control, never
 * treatment -> control: the control range [T, 2T) of a higher T starts where the treatment ends,
 * and everything below 2T stays below 2T' when T' ≥ T.
 */
export function armOf(bucket: number, threshold: number): ComparisonArm | null {
  const t = clampThreshold(threshold);
  if (bucket < t) return TREATMENT_ARM;
  if (bucket < 2 * t && bucket < BUCKETS) return CONTROL_ARM;
  return null;
}

/**
 * `armOf` for a user id, hashing with the feature's prefix as evaluation does. Only meaningful
 * for users the bucket step decided: beta members, blacklisted users and stable or beta-only
 * features are outside the comparison.
 */
export function armOfUser(prefix: MurmurPrefix, userId: string, threshold: number): ComparisonArm | null {
  return armOf(bucketFromPrefix(prefix, userId), threshold);
}

/**
 * Expected shares of exposures for a sample-ratio check: treatment T and control
 * min(T, BUCKETS − T) buckets, normalised to sum 1. Null when either group is empty.
 */
export function expectedArmShares(threshold: number): { treatment: number; control: number } | null {
  const t = clampThreshold(threshold);
  const range = controlRange(t);
  const control = range.end - range.start;
  if (t === 0 || control === 0) return null;
  return { treatment: t / (t + control), control: control / (t + control) };
}
