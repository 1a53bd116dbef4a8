import type { BucketingAlgorithm, BucketingConfig } from '../schemas/bucketing';
import {
  fnv1a,
  fnv1aDecimal,
  fnvSeedState,
  type MurmurStream,
  murmurLowBytes,
  murmurStream,
  murmurUtf8Stream,
} from './peers';

const UNLEASH = 1;
const GROWTHBOOK_V1 = 2;
const GROWTHBOOK_V2 = 3;
const FLAGD = 4;
const TWO_TO_32 = 4294967296;

/**
 * A feature's bucketing in another tool's algorithm, compiled once per snapshot: the prefix
 * state every call continues from, so a call hashes the id only and allocates nothing.
 */
export interface PeerBucketing {
  readonly algorithm: Exclude<BucketingAlgorithm, 'canary-rollout'>;
  readonly code: 1 | 2 | 3 | 4;
  /** unleash: murmur3 state after `groupId:` (low bytes); flagd: after the seed (UTF-8). */
  readonly murmur: MurmurStream;
  /** growthbook v2: FNV-1a state after the seed. */
  readonly fnvSeed: number;
  /** growthbook v1 hashes id + seed: the seed appended after the id. */
  readonly suffix: string;
  /** What was hashed before (or after) the id, for explain. */
  readonly key: string;
  /**
   * growthbook with variants: GrowthBook's bucket ranges [start, end) per variant, flattened, for
   * the feature's coverage. A user is in the rollout when the hash falls in one; null otherwise.
   */
  readonly ranges: readonly number[] | null;
  /** The full range of each variant (coverage 1), flattened: where a user's position is measured. */
  readonly slots: readonly number[] | null;
}

/**
 * GrowthBook's `getBucketRanges(n, coverage, weights)`: coverage clamped to 0..1, equal weights
 * when they are missing, of the wrong length or do not sum to 1 within 0.01; each range starts
 * at the sum of the weights before it, so raising the coverage only extends ranges.
 */
export function growthbookBucketRanges(
  count: number,
  coverage: number,
  weights?: readonly number[] | null,
): [number, number][] {
  const c = coverage < 0 ? 0 : Math.min(coverage, 1);
  const equal = Array.from({ length: count }, () => 1 / count);
  let w = weights ?? equal;
  if (w.length !== count) w = equal;
  const total = w.reduce((sum, x) => sum + x, 0);
  if (total < 0.99 || total > 1.01) w = equal;
  let cumulative = 0;
  return w.map((x) => {
    const start = cumulative;
    cumulative += x;
    return [start, start + c * x];
  });
}

/** Compiles a feature's bucketing; null for ours (the default). */
export function compilePeerBucketing(
  bucketing: BucketingConfig | undefined,
  feature: string,
  percentage = 100,
  variantWeights?: readonly number[],
): PeerBucketing | null {
  const empty: MurmurStream = { h1: 0, k1: 0, shift: 0, length: 0 };
  switch (bucketing?.algorithm) {
    case undefined:
    case 'canary-rollout':
      return null;
    case 'unleash': {
      const groupId = bucketing.groupId ?? feature;
      return {
        algorithm: 'unleash',
        code: UNLEASH,
        murmur: murmurStream(`${groupId}:`, 0, 'low-byte'),
        fnvSeed: 0,
        suffix: '',
        key: groupId,
        ranges: null,
        slots: null,
      };
    }
    case 'growthbook': {
      const seed = bucketing.seed ?? feature;
      const v2 = bucketing.hashVersion === 2;
      let ranges: number[] | null = null;
      let slots: number[] | null = null;
      if (variantWeights !== undefined && variantWeights.length > 0) {
        const sum = variantWeights.reduce((a, w) => a + w, 0);
        const shares = variantWeights.map((w) => w / sum);
        // The coverage as GrowthBook would read it from JSON: 0.3333 for 33.33 %, not 33.33 / 100.
        const coverage = Number((percentage / 100).toPrecision(12));
        ranges = growthbookBucketRanges(shares.length, coverage, shares).flat();
        slots = growthbookBucketRanges(shares.length, 1, shares).flat();
      }
      return {
        algorithm: 'growthbook',
        code: v2 ? GROWTHBOOK_V2 : GROWTHBOOK_V1,
        murmur: empty,
        fnvSeed: v2 ? fnvSeedState(seed) : 0,
        suffix: seed,
        key: seed,
        ranges,
        slots,
      };
    }
    case 'flagd': {
      const seed = bucketing.seed ?? feature;
      return {
        algorithm: 'flagd',
        code: FLAGD,
        murmur: murmurStream(seed, 0, 'utf8'),
        fnvSeed: 0,
        suffix: '',
        key: seed,
        ranges: null,
        slots: null,
      };
    }
  }
}

/**
 * The value the other tool computes for `userId`: unleash's normalizedValue (1..100, on when
 * <= the rollout), GrowthBook's hash in units (0..999 for version 1, 0..9999 for version 2, on
 * when units / 1000 or / 10,000 <= coverage), flagd's fractional bucket out of 10,000.
 */
export function peerValue(peer: PeerBucketing, userId: string): number {
  switch (peer.code) {
    case UNLEASH:
      return (murmurLowBytes(peer.murmur, userId) % 100) + 1;
    case GROWTHBOOK_V1:
      return fnv1a(fnv1a(0x811c9dc5, userId), peer.suffix) % 1000;
    case GROWTHBOOK_V2:
      return fnv1aDecimal(fnv1a(peer.fnvSeed, userId)) % 10_000;
    case FLAGD:
      return Math.floor((murmurUtf8Stream(peer.murmur, userId) * 10_000) / TWO_TO_32);
  }
}

/**
 * The user's position 0..9999 in a peer bucketing, such that for every threshold T > 0 (the
 * percentage x 100) the user is in the rollout exactly when position < T, as the peer decides:
 * unleash `v <= p` is `(v - 1) x 100 < 100p`; GrowthBook `u / 10^k <= c` is `u x s - 1 < T`
 * (s = 10 for version 1, 1 for version 2; 0 stays 0); flagd's bucket is one already. Raising
 * the percentage therefore only adds users, and control groups work as for our buckets.
 */
export function peerPosition(peer: PeerBucketing, userId: string): number {
  if (peer.slots !== null) return slotPosition(peer.slots, growthbookN(peer, userId));
  switch (peer.code) {
    case UNLEASH:
      return (murmurLowBytes(peer.murmur, userId) % 100) * 100;
    case GROWTHBOOK_V1: {
      const units = fnv1a(fnv1a(0x811c9dc5, userId), peer.suffix) % 1000;
      return units === 0 ? 0 : units * 10 - 1;
    }
    case GROWTHBOOK_V2: {
      const units = fnv1aDecimal(fnv1a(peer.fnvSeed, userId)) % 10_000;
      return units === 0 ? 0 : units - 1;
    }
    case FLAGD:
      return Math.floor((murmurUtf8Stream(peer.murmur, userId) * 10_000) / TWO_TO_32);
  }
}

/** GrowthBook's hash n in [0, 1) for a growthbook peer. */
function growthbookN(peer: PeerBucketing, userId: string): number {
  const units = peerValue(peer, userId);
  return peer.code === GROWTHBOOK_V1 ? units / 1000 : units / 10_000;
}

/**
 * The index of the GrowthBook bucket range (variant) `userId` falls in, -1 when none (outside the
 * coverage). Only for a growthbook peer with variants.
 */
export function peerRangeIndex(peer: PeerBucketing, userId: string): number {
  const ranges = peer.ranges;
  if (ranges === null) return -1;
  const n = growthbookN(peer, userId);
  for (let i = 0; i < ranges.length; i += 2) {
    if (n >= ranges[i]! && n < ranges[i + 1]!) return i / 2;
  }
  return -1;
}

/**
 * Where n sits in its variant's full range, scaled to 0..9999: the coverage (x 10,000) above
 * which the user is in that variant's range. Agrees with the ranges up to rounding at the edge.
 */
function slotPosition(slots: readonly number[], n: number): number {
  for (let i = 0; i < slots.length; i += 2) {
    const start = slots[i]!;
    const end = slots[i + 1]!;
    if (n >= start && n < end) return Math.min(9999, Math.floor(((n - start) / (end - start)) * 10_000));
  }
  return 9999;
}

/** How explain shows a peer value, and whether it put the user in the rollout. */
export function describePeerValue(
  peer: PeerBucketing,
  value: number,
  on: boolean,
  percentage: number,
): string {
  switch (peer.code) {
    case UNLEASH:
      return `unleash normalizedValue ${value} (murmur3 of "${peer.key}:<id>" % 100 + 1) ${on ? '<=' : '>'} rollout ${percentage}`;
    case GROWTHBOOK_V1:
    case GROWTHBOOK_V2: {
      const n = peer.code === GROWTHBOOK_V1 ? value / 1000 : value / 10_000;
      const version = peer.code === GROWTHBOOK_V1 ? 1 : 2;
      if (peer.ranges !== null) {
        return `growthbook hash v${version} ${n} (seed "${peer.key}") ${on ? 'inside' : 'outside'} the variants' bucket ranges at coverage ${percentage / 100}`;
      }
      return `growthbook hash v${version} ${n} (seed "${peer.key}") ${on ? '<=' : '>'} coverage ${percentage / 100}`;
    }
    case FLAGD:
      return `flagd fractional bucket ${value} of 10000 (murmur3 of "${peer.key}<id>") ${on ? '<' : '>='} ${Math.round(percentage * 100)}`;
  }
}
