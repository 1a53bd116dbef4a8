import { type MurmurPrefix, murmurPrefix, murmurUtf8 } from './murmur';

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

/** Buckets below this are in a rollout of `percentage` %. */
export function percentageToThreshold(percentage: number): number {
  return Math.round(percentage * 100);
}

export { type MurmurPrefix, murmurPrefix, murmurUtf8, seedPrefix } from './murmur';
