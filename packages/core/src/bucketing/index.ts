import { type MurmurPrefix, murmurPrefix, murmurUtf8, murmurUtf8WellFormed } from './murmur';

/** Buckets per feature: percentages resolve to 0.01 %. */
export const BUCKETS = 10_000;

/** The bucket (0..9999) of `userId` for a feature hashed with `salt`. */
export function bucketOf(salt: string, userId: string): number {
  return murmurUtf8(murmurPrefix(salt), userId) % BUCKETS;
}

/** Bucket from a precomputed salt prefix (the hot path keeps one per feature). */
export function bucketFromPrefix(prefix: MurmurPrefix, userId: string): number {
  return murmurUtf8(prefix, userId) % BUCKETS;
}

/**
 * `bucketFromPrefix`, or -1 when `userId` holds a lone surrogate (is not well-formed UTF-16):
 * the evaluation path learns both from one pass over the id.
 */
export function wellFormedBucketFromPrefix(prefix: MurmurPrefix, userId: string): number {
  const hash = murmurUtf8WellFormed(prefix, userId);
  // `>>> 0` keeps the modulus an unsigned 32-bit one (the -1 makes the type signed otherwise).
  return hash < 0 ? -1 : (hash >>> 0) % BUCKETS;
}

/** Buckets below this are in a rollout of `percentage` %. */
export function percentageToThreshold(percentage: number): number {
  return Math.round(percentage * 100);
}

export { type MurmurPrefix, murmurPrefix, murmurUtf8, seedPrefix } from './murmur';
