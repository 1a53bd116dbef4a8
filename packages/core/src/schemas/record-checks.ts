import { isValidUserId } from '../storage/user-ids';
import { isValidFeatureName, isValidPercentage, normalizePercentage, ROLLOUT_STRATEGIES } from './names';
import {
  arrayOf,
  boolean,
  type Check,
  count,
  FAIL,
  intWhere,
  objectOf,
  oneOf,
  stringWhere,
  when,
} from './plain-checks';
import type { BetaUser, FeatureRecord, Feedback } from './records';

export const featureName: Check = when(isValidFeatureName);
export const percentage: Check = (v) => (isValidPercentage(v) ? normalizePercentage(v) : FAIL);
export const rolloutStrategy: Check = oneOf(ROLLOUT_STRATEGIES);
const positive = intWhere((n) => n > 0);
const optional = (check: Check) => ({ check, absent: 'optional' as const });

const planState = objectOf(
  {
    status: { check: oneOf(['running', 'paused', 'completed', 'stopped']) },
    stepIndex: { check: count },
    stepStartedAt: { check: count },
    reason: optional(stringWhere(0, 1000)),
    lastRollbackAt: optional(count),
  },
  'loose',
);

/**
 * `featureRecordSchema` by hand, for records without bucketing or rules (those go to the schema).
 * Runs for every feature of every read.
 */
export const storedFeature = objectOf(
  {
    name: { check: featureName },
    enabled: { check: boolean },
    rolloutPercentage: { check: percentage },
    rolloutStrategy: { check: rolloutStrategy },
    salt: { check: stringWhere(1, 128) },
    version: { check: positive },
    updatedAt: { check: count },
    stageStartedAt: { check: count },
    stageVersion: optional(positive),
    lastRollbackAt: optional(count),
    plan: optional(planState),
    bucketing: optional(() => FAIL),
    rules: optional(() => FAIL),
    prerequisites: optional(arrayOf(featureName, 0, 100)),
  },
  'loose',
) as Check<FeatureRecord>;

/** `betaUserSchema` by hand: every read of the users goes through it. */
export const storedUser = objectOf(
  {
    id: { check: when(isValidUserId) },
    email: { check: stringWhere(3, 320) },
    name: { check: stringWhere(0, 200) },
    interests: { check: arrayOf(featureName) },
    createdAt: { check: count },
  },
  'loose',
) as Check<BetaUser>;

/** `feedbackSchema` by hand. */
export const storedFeedback = objectOf(
  {
    id: { check: stringWhere(1, Number.POSITIVE_INFINITY) },
    userId: { check: when(isValidUserId) },
    feature: { check: featureName },
    rating: { check: intWhere((n) => n >= 1 && n <= 5) },
    comment: optional(stringWhere(0, 4000)),
    at: { check: count },
  },
  'loose',
) as Check<Feedback>;
