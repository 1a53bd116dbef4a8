import { BUCKETS, bucketFromPrefix, wellFormedBucketFromPrefix } from '../bucketing';
import { describePeerValue, peerPosition, peerRangeIndex, peerValue } from '../bucketing/modes';
import type { BucketingAlgorithm } from '../schemas/bucketing';
import { isWellFormedText } from '../storage/user-ids';
import { BETA_ONLY, type CompiledFeature, featureOf, mayBeListed, type Snapshot, STABLE } from './snapshot';

/** Why a decision came out as it did, in the evaluation order. */
export type EvaluationReason =
  | 'system-disabled'
  | 'invalid-user'
  | 'unknown-feature'
  | 'feature-disabled'
  | 'blacklisted'
  | 'beta-member'
  | 'stable'
  | 'beta-only'
  | 'in-rollout'
  | 'outside-rollout';

/**
 * Decides one (user, feature) pair in the order of ARCHITECTURE.md. Never throws, allocates
 * nothing, and hashes only when the gradual step is reached.
 */
export function decide(snapshot: Snapshot, userId: string, feature: string): EvaluationReason {
  if (!snapshot.enabled) return 'system-disabled';
  if (typeof userId !== 'string' || userId.length === 0) return 'invalid-user';
  const f = featureOf(snapshot, feature);
  // With no list to consult, only the bucket can decide, and the hash that computes it also finds
  // any lone surrogate: the id is read once. Decisions are those of the full order below.
  if (f?.bucketDecides && snapshot.blacklist.size === 0) {
    const bucket = wellFormedBucketFromPrefix(f.prefix, userId);
    return bucket < 0 ? 'invalid-user' : bucket < f.threshold ? 'in-rollout' : 'outside-rollout';
  }
  return decideInOrder(snapshot, userId, f);
}

/** The evaluation order after the id's type and length (a function apart keeps `decide` small enough to inline whole). */
function decideInOrder(snapshot: Snapshot, userId: string, f: CompiledFeature | undefined): EvaluationReason {
  // A lone surrogate is stored as U+FFFD by UTF-8 stores: such an id could slip past its blacklisting.
  if (!isWellFormedText(userId)) return 'invalid-user';
  if (f === undefined) return 'unknown-feature';
  if (!f.enabled) return 'feature-disabled';
  if (snapshot.members === null || mayBeListed(snapshot.members, userId)) {
    if (snapshot.blacklist.size !== 0 && snapshot.blacklist.has(userId)) return 'blacklisted';
    if (f.beta?.has(userId)) return 'beta-member';
  }
  if (f.strategy === STABLE) return 'stable';
  if (f.strategy === BETA_ONLY) return 'beta-only';
  return inRollout(f, userId) ? 'in-rollout' : 'outside-rollout';
}

function inRollout(f: CompiledFeature, userId: string): boolean {
  if (f.threshold === 0) return false;
  if (f.threshold >= BUCKETS) return true;
  // GrowthBook with variants: in the rollout when the hash falls in a variant's bucket range.
  if (f.peer?.ranges != null) return peerRangeIndex(f.peer, userId) >= 0;
  return positionOf(f, userId) < f.threshold;
}

/**
 * The user's bucket 0..9999 in the feature's bucketing: in the rollout exactly when below the
 * threshold. Ours unless the feature names another tool's algorithm.
 */
export function positionOf(f: CompiledFeature, userId: string): number {
  return f.peer === null ? bucketFromPrefix(f.prefix, userId) : peerPosition(f.peer, userId);
}

/** True for the reasons that turn a feature on. */
export function isOnReason(reason: EvaluationReason): boolean {
  return reason === 'in-rollout' || reason === 'beta-member' || reason === 'stable';
}

/** One step of the evaluation order as `explain` reports it. */
export interface EvaluationStep {
  readonly step: 'system' | 'feature' | 'blacklist' | 'beta' | 'strategy' | 'bucket';
  /** `pass`: this step did not decide; `on` / `off`: it decided; `skipped`: not reached. */
  readonly outcome: 'pass' | 'on' | 'off' | 'skipped';
  readonly detail: string;
}

/** A decision with its reason, the user's bucket and each step of the order. */
export interface Evaluation {
  readonly feature: string;
  readonly enabled: boolean;
  readonly reason: EvaluationReason;
  /**
   * The user's bucket for this feature (0..9999) in its bucketing, null when the feature or user
   * is unknown/invalid. In the rollout exactly when below `threshold` (for GrowthBook bucket
   * ranges, the user's place within their variant's range, up to rounding at its edge).
   */
  readonly bucket: number | null;
  /** The feature's bucketing algorithm (`canary-rollout` unless it names another tool's), null for unknown features. */
  readonly bucketing: BucketingAlgorithm | null;
  /**
   * The value the feature's bucketing computed in its own terms: our bucket; unleash's
   * normalizedValue (1..100); GrowthBook's hash (0..1); flagd's fractional bucket (0..9999).
   * Null when `bucket` is.
   */
  readonly bucketValue: number | null;
  /** Buckets below this are in the rollout (percentage x 100), null for unknown features. */
  readonly threshold: number | null;
  readonly steps: readonly EvaluationStep[];
}

/** Evaluates with full detail, for support questions and the CLI's `explain`. */
export function explain(snapshot: Snapshot, userId: string, feature: string): Evaluation {
  const reason = decide(snapshot, userId, feature);
  const f = typeof feature === 'string' ? snapshot.features.get(feature) : undefined;
  const validUser = typeof userId === 'string' && userId.length > 0;
  const bucket = f !== undefined && validUser ? positionOf(f, userId) : null;
  const raw = f?.peer != null && validUser ? peerValue(f.peer, userId) : bucket;
  const bucketValue =
    raw === null || f?.peer == null || f.peer.algorithm !== 'growthbook'
      ? raw
      : raw / (f.peer.code === 2 ? 1000 : 10_000);
  const enabled = isOnReason(reason);
  const order: Array<[EvaluationStep['step'], EvaluationReason[], string]> = [
    [
      'system',
      ['system-disabled', 'invalid-user'],
      snapshot.enabled ? 'rollout system enabled' : 'rollout system disabled',
    ],
    [
      'feature',
      ['unknown-feature', 'feature-disabled'],
      f === undefined ? 'unknown feature' : f.enabled ? 'feature enabled' : 'feature disabled',
    ],
    [
      'blacklist',
      ['blacklisted'],
      snapshot.blacklist.has(userId) ? 'user is blacklisted' : 'user not blacklisted',
    ],
    [
      'beta',
      ['beta-member'],
      f?.beta?.has(userId) ? 'user is in the beta list' : 'user not in the beta list',
    ],
    ['strategy', ['stable', 'beta-only'], `strategy ${f?.record.rolloutStrategy ?? 'n/a'}`],
    [
      'bucket',
      ['in-rollout', 'outside-rollout'],
      bucket === null || f === undefined
        ? 'no bucket'
        : f.peer !== null && raw !== null
          ? describePeerValue(f.peer, raw, inRollout(f, userId), f.record.rolloutPercentage)
          : `bucket ${bucket} ${bucket < f.threshold ? '<' : '>='} ${f.threshold} (${f.record.rolloutPercentage} %)`,
    ],
  ];
  const steps: EvaluationStep[] = [];
  let decided = false;
  for (const [step, reasons, detail] of order) {
    if (decided) {
      steps.push({ step, outcome: 'skipped', detail });
      continue;
    }
    if (reasons.includes(reason)) {
      decided = true;
      const why =
        reason === 'invalid-user' ? 'user id is empty, not a string or not well-formed UTF-16' : detail;
      steps.push({ step, outcome: enabled ? 'on' : 'off', detail: why });
    } else {
      steps.push({ step, outcome: 'pass', detail });
    }
  }
  return {
    feature,
    enabled,
    reason,
    bucket,
    bucketing: f === undefined ? null : (f.peer?.algorithm ?? 'canary-rollout'),
    bucketValue,
    threshold: f === undefined ? null : f.threshold,
    steps,
  };
}
