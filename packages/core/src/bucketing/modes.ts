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
}

/** Compiles a feature's bucketing; null for ours (the default). */
export function compilePeerBucketing(
  bucketing: BucketingConfig | undefined,
  feature: string,
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
      };
    }
    case 'growthbook': {
      const seed = bucketing.seed ?? feature;
      const v2 = bucketing.hashVersion === 2;
      return {
        algorithm: 'growthbook',
        code: v2 ? GROWTHBOOK_V2 : GROWTHBOOK_V1,
        murmur: empty,
        fnvSeed: v2 ? fnvSeedState(seed) : 0,
        suffix: seed,
        key: seed,
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
      return `growthbook hash v${version} ${n} (seed "${peer.key}") ${on ? '<=' : '>'} coverage ${percentage / 100}`;
    }
    case FLAGD:
      return `flagd fractional bucket ${value} of 10000 (murmur3 of "${peer.key}<id>") ${on ? '<' : '>='} ${Math.round(percentage * 100)}`;
  }
}
