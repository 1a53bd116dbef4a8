import type { EvaluationReason } from '@canary-rollout/core';
import { ErrorCode, type ResolutionReason, StandardResolutionReasons } from '@openfeature/server-sdk';

/** An OpenFeature error for a decision that could not be made, or undefined. */
export function errorOf(reason: EvaluationReason, targetingKey: unknown): ErrorCode | undefined {
  switch (reason) {
    case 'unknown-feature':
      return ErrorCode.FLAG_NOT_FOUND;
    case 'missing-user-id':
      return ErrorCode.TARGETING_KEY_MISSING;
    case 'invalid-user':
      // An empty targeting key is a missing one; anything else (a lone surrogate) is a bad context.
      return targetingKey === '' ? ErrorCode.TARGETING_KEY_MISSING : ErrorCode.INVALID_CONTEXT;
    case 'invalid-context':
      return ErrorCode.INVALID_CONTEXT;
    case 'prerequisite-cycle':
      return ErrorCode.GENERAL;
    default:
      return undefined;
  }
}

/**
 * OpenFeature's reason for one of ours: `DISABLED` for a switch that is off, `TARGETING_MATCH`
 * when a rule, the beta list, the blacklist or a prerequisite decided, `SPLIT` when the user's
 * bucket did, `STATIC` when the answer is the same for everyone (stable, 0 or 100 %), and
 * `DEFAULT` when a feature with rules fell through them to a same-for-everyone answer.
 */
export function reasonOf(
  reason: EvaluationReason,
  hasRules: boolean,
  sameForEveryone: boolean,
): ResolutionReason {
  switch (reason) {
    case 'system-disabled':
    case 'feature-disabled':
      return StandardResolutionReasons.DISABLED;
    case 'blacklisted':
    case 'beta-member':
    case 'rule-match':
    case 'rule-outside-rollout':
    case 'prerequisite-off':
      return StandardResolutionReasons.TARGETING_MATCH;
    case 'beta-only':
      return StandardResolutionReasons.DEFAULT;
    case 'stable':
      return hasRules ? StandardResolutionReasons.DEFAULT : StandardResolutionReasons.STATIC;
    case 'in-rollout':
    case 'outside-rollout':
      if (!sameForEveryone) return StandardResolutionReasons.SPLIT;
      return hasRules ? StandardResolutionReasons.DEFAULT : StandardResolutionReasons.STATIC;
    default:
      return StandardResolutionReasons.ERROR;
  }
}
