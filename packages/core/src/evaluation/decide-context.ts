import { BUCKETS, wellFormedBucketFromPrefix } from '../bucketing';
import { isWellFormedText } from '../storage/user-ids';
import type { EvaluationReason } from './evaluate';
import { inRollout, positionOf } from './position';
import { BETA_ONLY, type CompiledFeature, featureOf, mayBeListed, type Snapshot, STABLE } from './snapshot';
import { firstFailure } from './targeting';

/**
 * What decided the last decision beside its reason: the rule that matched (-1: none) and the
 * prerequisite that was off (-1: none). One object for the process, overwritten by every
 * decision, so deciding allocates nothing; read it right after the call.
 */
export const lastDecision = { rule: -1, prerequisite: -1 };

/**
 * Decides a (context, feature) pair: the order of `decide`, with the feature's prerequisites and
 * rules between the beta list and the strategy. `userId` undefined decides anonymously: lists
 * cannot match, and a step that needs a bucket answers `missing-user-id`. Never throws.
 */
export function decideContext(
  snapshot: Snapshot,
  feature: string,
  userId: string | undefined,
  attributes: unknown,
): EvaluationReason {
  lastDecision.rule = -1;
  lastDecision.prerequisite = -1;
  if (!snapshot.enabled) return 'system-disabled';
  if (userId !== undefined && (typeof userId !== 'string' || userId.length === 0)) return 'invalid-user';
  if (
    attributes !== undefined &&
    (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
  )
    return 'invalid-context';
  const f = featureOf(snapshot, feature);
  if (userId !== undefined && f?.bucketDecides && snapshot.blacklist.size === 0) {
    const bucket = wellFormedBucketFromPrefix(f.prefix, userId);
    return bucket < 0 ? 'invalid-user' : bucket < f.threshold ? 'in-rollout' : 'outside-rollout';
  }
  if (userId !== undefined && !isWellFormedText(userId)) return 'invalid-user';
  if (f === undefined) return 'unknown-feature';
  return decideFeature(snapshot, f, userId, attributes as object | undefined);
}

/** From the feature's switch on, for a user id already checked (or undefined). */
function decideFeature(
  snapshot: Snapshot,
  f: CompiledFeature,
  userId: string | undefined,
  attributes: object | undefined,
): EvaluationReason {
  if (!f.enabled) return 'feature-disabled';
  if (userId !== undefined && (snapshot.members === null || mayBeListed(snapshot.members, userId))) {
    if (snapshot.blacklist.size !== 0 && snapshot.blacklist.has(userId)) return 'blacklisted';
    if (f.beta?.has(userId)) return 'beta-member';
  }
  return decideTargeting(snapshot, userId, f, attributes);
}

/** Prerequisites, rules, then the strategy: the steps after the lists. */
export function decideTargeting(
  snapshot: Snapshot,
  userId: string | undefined,
  f: CompiledFeature,
  attributes: object | undefined,
): EvaluationReason {
  // A cycle is never evaluated: it is refused in the config, and a store that holds one gets
  // the features on it answered off.
  if (f.cyclic) return 'prerequisite-cycle';
  const prerequisites = f.prerequisites;
  if (prerequisites !== null) {
    for (let i = 0; i < prerequisites.length; i++) {
      const p = prerequisites[i];
      const on = p !== undefined && isOn(decideFeature(snapshot, p, userId, attributes));
      if (!on) {
        lastDecision.rule = -1;
        lastDecision.prerequisite = i;
        return p?.cyclic === true ? 'prerequisite-cycle' : 'prerequisite-off';
      }
    }
    lastDecision.prerequisite = -1;
  }
  lastDecision.rule = -1;
  const rules = f.rules;
  if (rules !== null) {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (firstFailure(rule, userId, attributes) !== -1) continue;
      lastDecision.rule = i;
      if (rule.threshold === 0) return 'rule-outside-rollout';
      if (rule.threshold >= BUCKETS) return 'rule-match';
      if (userId === undefined) return 'missing-user-id';
      return positionOf(f, userId) < rule.threshold ? 'rule-match' : 'rule-outside-rollout';
    }
  }
  if (f.strategy === STABLE) return 'stable';
  if (f.strategy === BETA_ONLY) return 'beta-only';
  if (userId === undefined) {
    if (f.threshold === 0) return 'outside-rollout';
    if (f.threshold >= BUCKETS) return 'in-rollout';
    return 'missing-user-id';
  }
  return inRollout(f, userId) ? 'in-rollout' : 'outside-rollout';
}

/** True for the reasons that turn a feature on. */
export function isOn(reason: EvaluationReason): boolean {
  return (
    reason === 'in-rollout' || reason === 'beta-member' || reason === 'stable' || reason === 'rule-match'
  );
}
