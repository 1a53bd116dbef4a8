import {
  BUCKETS,
  type MurmurPrefix,
  murmurPrefix,
  murmurUtf8,
  percentageToThreshold,
  seedPrefix,
} from '../bucketing';
import { compilePeerBucketing, type PeerBucketing } from '../bucketing/modes';
import type { FeatureRecord } from '../schemas/records';
import { prerequisiteCycles, type Segment } from '../schemas/targeting';
import type { RolloutState } from '../storage/types';
import { type CompiledRule, compileRules } from './targeting';

/** Strategy codes compared on the hot path. */
export const GRADUAL = 0;
export const BETA_ONLY = 1;
export const STABLE = 2;

/** A feature prepared for evaluation. */
export interface CompiledFeature {
  readonly record: FeatureRecord;
  readonly enabled: boolean;
  readonly strategy: 0 | 1 | 2;
  /** Buckets below this are in the rollout (0..10000). */
  readonly threshold: number;
  readonly prefix: MurmurPrefix;
  /** Another tool's bucketing, when the feature names one; null for ours. */
  readonly peer: PeerBucketing | null;
  /** Beta members; null when the list is empty, so the hot path skips the lookup. */
  readonly beta: ReadonlySet<string> | null;
  /** Targeting rules, first match wins; null when the feature has none. */
  readonly rules: readonly CompiledRule[] | null;
  /**
   * Features that must be on for the same context (undefined where the named feature is
   * unknown: then this one is off); null when it has none.
   */
  readonly prerequisites: readonly (CompiledFeature | undefined)[] | null;
  /** On a cycle of prerequisites: never evaluated, always off. */
  readonly cyclic: boolean;
  /**
   * Enabled, gradual, our bucketing, no beta list, no rules or prerequisites, a percentage strictly between 0 and 100:
   * unless the id is blacklisted, its bucket decides, so evaluation goes straight to the hash.
   */
  readonly bucketDecides: boolean;
}

/** Everything evaluation reads, immutable once built; replaced whole on every change. */
export interface Snapshot {
  readonly enabled: boolean;
  readonly version: number;
  readonly features: ReadonlyMap<string, CompiledFeature>;
  readonly blacklist: ReadonlySet<string>;
  /**
   * Bitset over every id in the blacklist or a beta list, built when those lists are large: an id
   * whose bit is clear is in none of them, and skips set lookups that would miss the CPU cache.
   */
  readonly members: Uint32Array | null;
  /** The segments the rules were compiled with (config file and store). */
  readonly segments: Readonly<Record<string, Segment>>;
  /** The last feature looked up by `featureOf`: the one part that changes, without changing answers. */
  readonly recent: { name: unknown; feature: CompiledFeature | undefined };
}

/**
 * The compiled feature named `name`. Apps ask about one feature many times in a row, mostly by
 * the same string: comparing with the last name is cheaper than hashing it into the map.
 */
export function featureOf(snapshot: Snapshot, name: string): CompiledFeature | undefined {
  const recent = snapshot.recent;
  if (recent.name === name) return recent.feature;
  const feature = snapshot.features.get(name);
  recent.name = name;
  recent.feature = feature;
  return feature;
}

/** Lists smaller than this are probed directly; their hash tables stay in cache. */
const FILTER_MIN_MEMBERS = 4096;
const FILTER_BITS = 20;
const FILTER_SEED = seedPrefix(0x51f1_e7b3);

/** False when `userId` is certainly in no list of the snapshot. */
export function mayBeListed(members: Uint32Array, userId: string): boolean {
  const bit = murmurUtf8(FILTER_SEED, userId) >>> (32 - FILTER_BITS);
  return (members[bit >>> 5]! & (1 << (bit & 31))) !== 0;
}

function buildMemberFilter(lists: Iterable<readonly string[]>): Uint32Array | null {
  let total = 0;
  for (const list of lists) total += list.length;
  if (total < FILTER_MIN_MEMBERS) return null;
  const members = new Uint32Array(1 << (FILTER_BITS - 5));
  for (const list of lists) {
    for (const id of list) {
      const bit = murmurUtf8(FILTER_SEED, id) >>> (32 - FILTER_BITS);
      members[bit >>> 5]! |= 1 << (bit & 31);
    }
  }
  return members;
}

const prefixCache = new Map<string, MurmurPrefix>();

function prefixFor(salt: string): MurmurPrefix {
  let prefix = prefixCache.get(salt);
  if (prefix === undefined) {
    prefix = murmurPrefix(salt);
    if (prefixCache.size > 10_000) prefixCache.clear();
    prefixCache.set(salt, prefix);
  }
  return prefix;
}

/**
 * Builds a snapshot from store state (and the system switch, for GrowthBook bucket ranges
 * variants from the config, and the segments rules name). Rules are compiled here, once per
 * change, so evaluation only compares.
 */
export function compileSnapshot(
  state: RolloutState,
  enabled: boolean,
  variants?: Readonly<
    Record<string, { readonly variants?: readonly { readonly weight: number }[] | undefined }>
  >,
  segments: Readonly<Record<string, Segment>> = {},
): Snapshot {
  const features = new Map<string, CompiledFeature>();
  const prerequisiteNames = new Map<string, readonly string[]>();
  for (const record of state.features) {
    // Own keys only: a third-party store may hand a plain object, where "hasOwnProperty" is a function.
    const members = Object.hasOwn(state.beta, record.name) ? state.beta[record.name] : undefined;
    const strategy =
      record.rolloutStrategy === 'stable'
        ? STABLE
        : record.rolloutStrategy === 'beta-only'
          ? BETA_ONLY
          : GRADUAL;
    const threshold = percentageToThreshold(record.rolloutPercentage);
    const beta = Array.isArray(members) && members.length > 0 ? new Set(members) : null;
    const peer = compilePeerBucketing(
      record.bucketing,
      record.name,
      record.rolloutPercentage,
      variants !== undefined && Object.hasOwn(variants, record.name)
        ? variants[record.name]?.variants?.map((v) => v.weight)
        : undefined,
    );
    const rules = compileRules(record.rules, segments);
    const prerequisites =
      record.prerequisites !== undefined && record.prerequisites.length > 0 ? record.prerequisites : null;
    if (prerequisites !== null) prerequisiteNames.set(record.name, prerequisites);
    features.set(record.name, {
      record,
      rules,
      // Resolved below, once every feature is compiled.
      prerequisites: null,
      cyclic: false,
      enabled: record.enabled,
      strategy,
      threshold,
      prefix: prefixFor(record.salt),
      peer,
      beta,
      bucketDecides:
        record.enabled &&
        strategy === GRADUAL &&
        peer === null &&
        beta === null &&
        rules === null &&
        prerequisites === null &&
        threshold > 0 &&
        threshold < BUCKETS,
    });
  }

  linkPrerequisites(features, prerequisiteNames);
  const members = buildMemberFilter([state.blacklist, ...Object.values(state.beta)]);
  return {
    enabled,
    version: state.version,
    features,
    blacklist: new Set(state.blacklist),
    members,
    segments,
    recent: { name: undefined, feature: undefined },
  };
}

/** Points each feature at its prerequisites' compiled features and marks those on a cycle. */
function linkPrerequisites(
  features: Map<string, CompiledFeature>,
  names: ReadonlyMap<string, readonly string[]>,
): void {
  if (names.size === 0) return;
  const graph: Record<string, { prerequisites: readonly string[] }> = Object.create(null);
  for (const [name, list] of names) graph[name] = { prerequisites: list };
  const cyclic = new Set<string>();
  for (const cycle of prerequisiteCycles(graph)) for (const name of cycle) cyclic.add(name);
  for (const [name, list] of names) {
    const f = features.get(name) as { prerequisites: unknown; cyclic: boolean } | undefined;
    if (f === undefined) continue;
    f.prerequisites = list.map((p) => features.get(p));
    f.cyclic = cyclic.has(name);
  }
}
