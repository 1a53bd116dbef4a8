import type { EvaluationReason } from '@canary-rollout/core';

/**
 * The OpenTelemetry `feature_flag.result.reason` (lowercase well-known values of the feature-flag
 * semantic conventions) for each of our evaluation reasons.
 */
export const OTEL_REASON: Readonly<Record<EvaluationReason, string>> = {
  'system-disabled': 'disabled',
  'invalid-user': 'error',
  'unknown-feature': 'error',
  'feature-disabled': 'disabled',
  blacklisted: 'targeting_match',
  'beta-member': 'targeting_match',
  stable: 'static',
  'beta-only': 'targeting_match',
  'in-rollout': 'split',
  'outside-rollout': 'split',
  'prerequisite-off': 'targeting_match',
  'prerequisite-cycle': 'error',
  'rule-match': 'targeting_match',
  'rule-outside-rollout': 'targeting_match',
  'missing-user-id': 'error',
  'invalid-context': 'error',
};

/** `error.type` for the reasons that are errors in the conventions' sense. */
export const OTEL_ERROR_TYPE: Readonly<Partial<Record<EvaluationReason, string>>> = {
  'unknown-feature': 'flag_not_found',
  'invalid-user': 'targeting_key_missing',
  'missing-user-id': 'targeting_key_missing',
  'invalid-context': 'invalid_context',
  'prerequisite-cycle': 'general',
};
