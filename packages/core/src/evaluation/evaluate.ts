import { wellFormedBucketFromPrefix } from '../bucketing';
import { describePeerValue, peerValue } from '../bucketing/modes';
import type { BucketingAlgorithm } from '../schemas/bucketing';
import { isWellFormedText } from '../storage/user-ids';
import { decideContext, decideTargeting, isOn, lastDecision } from './decide-context';
import { inRollout, positionOf } from './position';
import { BETA_ONLY, type CompiledFeature, featureOf, mayBeListed, type Snapshot, STABLE } from './snapshot';
import { type CompiledConstraint, describeConstraint, firstFailure } from './targeting';

export { positionOf } from './position';

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
  | 'outside-rollout'
  | 'prerequisite-off'
  | 'prerequisite-cycle'
  | 'rule-match'
  | 'rule-outside-rollout'
  | 'missing-user-id'
  | 'invalid-context';

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
  if (f.rules !== null || f.prerequisites !== null || f.cyclic)
    return decideTargeting(snapshot, userId, f, undefined);
  if (f.strategy === STABLE) return 'stable';
  if (f.strategy === BETA_ONLY) return 'beta-only';
  return inRollout(f, userId) ? 'in-rollout' : 'outside-rollout';
}

/** True for the reasons that turn a feature on. */
export function isOnReason(reason: EvaluationReason): boolean {
  return isOn(reason);
}

/** One step of the evaluation order as `explain` reports it. */
export interface EvaluationStep {
  /** `prerequisites` and `rules` appear only for features that have them. */
  readonly step:
    | 'system'
    | 'feature'
    | 'blacklist'
    | 'beta'
    | 'prerequisites'
    | 'rules'
    | 'strategy'
    | 'bucket';
  /** `pass`: this step did not decide; `on` / `off`: it decided; `skipped`: not reached. */
  readonly outcome: 'pass' | 'on' | 'off' | 'skipped';
  readonly detail: string;
}

/** How one rule fared in `explain`. */
export interface RuleTrace {
  readonly index: number;
  readonly name: string;
  readonly rolloutPercentage: number;
  /** `matched`: every constraint held; `failed`: `failedConstraint` did not; `skipped`: an earlier rule decided. */
  readonly outcome: 'matched' | 'failed' | 'skipped';
  /** The first constraint that did not hold, as `country in ["DE"]` (with its segment), or null. */
  readonly failedConstraint: string | null;
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
  /** The rule that decided (index and name), null when none did; present for features with rules. */
  readonly rule?: {
    readonly index: number;
    readonly name: string;
    readonly rolloutPercentage: number;
  } | null;
  /** Each rule in order; present for features with rules. */
  readonly rules?: readonly RuleTrace[];
  /** The prerequisite that was off, null when all were on (or none was reached); present for features with prerequisites. */
  readonly prerequisite?: string | null;
}

/** Evaluates with full detail, for support questions and the CLI's `explain`. */
export function explain(snapshot: Snapshot, userId: string, feature: string): Evaluation {
  const f = typeof feature === 'string' ? snapshot.features.get(feature) : undefined;
  // The user-id path decides with no attributes: rules can match on `userId` only.
  if (f?.rules != null || f?.prerequisites != null)
    return explainContext(snapshot, feature, userId, undefined);
  return trace(snapshot, feature, userId, undefined, decide(snapshot, userId, feature));
}

/**
 * `explain` for a context: which prerequisite, rule and constraint decided. `userId` undefined
 * explains an anonymous decision.
 */
export function explainContext(
  snapshot: Snapshot,
  feature: string,
  userId: string | undefined,
  attributes: unknown,
): Evaluation {
  const reason = decideContext(snapshot, feature, userId, attributes);
  return trace(snapshot, feature, userId, attributes, reason);
}

const REASON_STEP: Record<EvaluationReason, EvaluationStep['step']> = {
  'system-disabled': 'system',
  'invalid-user': 'system',
  'invalid-context': 'system',
  'unknown-feature': 'feature',
  'feature-disabled': 'feature',
  blacklisted: 'blacklist',
  'beta-member': 'beta',
  'prerequisite-off': 'prerequisites',
  'prerequisite-cycle': 'prerequisites',
  'rule-match': 'rules',
  'rule-outside-rollout': 'rules',
  stable: 'strategy',
  'beta-only': 'strategy',
  'in-rollout': 'bucket',
  'outside-rollout': 'bucket',
  'missing-user-id': 'bucket',
};

function trace(
  snapshot: Snapshot,
  feature: string,
  userId: string | undefined,
  attributes: unknown,
  reason: EvaluationReason,
): Evaluation {
  const ruleIndex = lastDecision.rule;
  const prerequisiteIndex = lastDecision.prerequisite;
  const f = typeof feature === 'string' ? snapshot.features.get(feature) : undefined;
  const validUser = typeof userId === 'string' && userId.length > 0;
  const bucket = f !== undefined && validUser ? positionOf(f, userId) : null;
  const raw = f?.peer != null && validUser ? peerValue(f.peer, userId) : bucket;
  const bucketValue =
    raw === null || f?.peer == null || f.peer.algorithm !== 'growthbook'
      ? raw
      : raw / (f.peer.code === 2 ? 1000 : 10_000);
  const enabled = isOnReason(reason);
  const listed = typeof userId === 'string';
  const decidingRule = ruleIndex >= 0 ? f?.rules?.[ruleIndex] : undefined;
  const rules = f?.rules?.map((rule, i): RuleTrace => {
    const failed =
      decidingRule !== undefined && i > ruleIndex ? -2 : firstFailure(rule, userId, attrs(attributes));
    const reached =
      REASON_STEP[reason] === 'rules' ||
      REASON_STEP[reason] === 'strategy' ||
      REASON_STEP[reason] === 'bucket';
    const outcome = !reached || failed === -2 ? 'skipped' : failed === -1 ? 'matched' : 'failed';
    return {
      index: i,
      name: rule.name,
      rolloutPercentage: rule.rolloutPercentage,
      outcome,
      failedConstraint:
        outcome !== 'failed'
          ? null
          : rule.missingSegment !== null
            ? `segment "${rule.missingSegment}" does not exist`
            : describeCompiled(rule.constraints[failed]),
    };
  });
  const order: Array<[EvaluationStep['step'], string]> = [
    ['system', snapshot.enabled ? 'rollout system enabled' : 'rollout system disabled'],
    ['feature', f === undefined ? 'unknown feature' : f.enabled ? 'feature enabled' : 'feature disabled'],
    ['blacklist', listed && snapshot.blacklist.has(userId) ? 'user is blacklisted' : 'user not blacklisted'],
    ['beta', listed && f?.beta?.has(userId) ? 'user is in the beta list' : 'user not in the beta list'],
  ];
  if (f?.prerequisites != null) {
    const names = f.record.prerequisites ?? [];
    const off = prerequisiteIndex >= 0 ? names[prerequisiteIndex] : undefined;
    order.push([
      'prerequisites',
      reason === 'prerequisite-cycle'
        ? `on a cycle of prerequisites (${names.join(', ')}): never evaluated`
        : off !== undefined
          ? `prerequisite ${off} is off (or unknown)`
          : `all on: ${names.join(', ')}`,
    ]);
  }
  if (rules !== undefined) {
    order.push([
      'rules',
      decidingRule !== undefined
        ? `${ruleLabel(decidingRule.index, decidingRule.name)} matched: ${
            bucket === null
              ? `${decidingRule.rolloutPercentage} %`
              : `bucket ${bucket} ${bucket < decidingRule.threshold ? '<' : '>='} ${decidingRule.threshold} (${decidingRule.rolloutPercentage} %)`
          }`
        : rules.length === 0
          ? 'no rules'
          : `no rule matched (${rules
              .filter((r) => r.outcome === 'failed')
              .map((r) => `${ruleLabel(r.index, r.name)}: ${r.failedConstraint}`)
              .join('; ')})`,
    ]);
  }
  order.push(
    ['strategy', `strategy ${f?.record.rolloutStrategy ?? 'n/a'}`],
    [
      'bucket',
      bucket === null || f === undefined
        ? reason === 'missing-user-id'
          ? 'no user id: the bucket cannot be computed'
          : 'no bucket'
        : f.peer !== null && raw !== null
          ? describePeerValue(f.peer, raw, inRollout(f, userId as string), f.record.rolloutPercentage)
          : `bucket ${bucket} ${bucket < f.threshold ? '<' : '>='} ${f.threshold} (${f.record.rolloutPercentage} %)`,
    ],
  );
  const decidingStep = REASON_STEP[reason];
  const steps: EvaluationStep[] = [];
  let decided = false;
  for (const [step, detail] of order) {
    if (decided) {
      steps.push({ step, outcome: 'skipped', detail });
      continue;
    }
    if (step === decidingStep) {
      decided = true;
      const why =
        reason === 'invalid-user'
          ? 'user id is empty, not a string or not well-formed UTF-16'
          : reason === 'invalid-context'
            ? 'attributes are not an object'
            : detail;
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
    ...(rules === undefined
      ? {}
      : {
          rule:
            decidingRule === undefined
              ? null
              : {
                  index: decidingRule.index,
                  name: decidingRule.name,
                  rolloutPercentage: decidingRule.rolloutPercentage,
                },
          rules,
        }),
    ...(f?.prerequisites == null
      ? {}
      : {
          prerequisite: prerequisiteIndex >= 0 ? (f.record.prerequisites?.[prerequisiteIndex] ?? null) : null,
        }),
  };
}

function attrs(attributes: unknown): object | undefined {
  return typeof attributes === 'object' && attributes !== null ? attributes : undefined;
}

function ruleLabel(index: number, name: string): string {
  return name === `rule ${index + 1}` ? name : `rule ${index + 1} "${name}"`;
}

function describeCompiled(c: CompiledConstraint | undefined): string {
  if (c === undefined) return 'no constraint';
  return `${describeConstraint(c.source)}${c.segment === null ? '' : ` (segment ${c.segment})`} did not hold`;
}
