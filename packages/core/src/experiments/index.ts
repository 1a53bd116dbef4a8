/**
 * `@canary-rollout/core/experiments`: treatment against control. Who is in which arm (buckets,
 * thresholds, arm names, the peers' bucketing for migrations), the comparisons of rates and
 * latencies, the sample-ratio check and weighted variants.
 */

export {
  BUCKETS,
  bucketOf,
  type MurmurPrefix,
  murmurPrefix,
  murmurUtf8,
  percentageToThreshold,
  seedPrefix,
} from '../bucketing';
export { flagdBucket, growthbookHash, murmurUtf8Hash, unleashNormalizedValue } from '../bucketing/peers';
export { BETA_ARM, CONTROL_ARM, TREATMENT_ARM, VARIANT_ARM_PREFIX, variantArm } from '../metrics/arm-names';
export { RULE_ARM_PREFIX, ruleArm } from '../services/rule-health';
export {
  armOf,
  armOfUser,
  type BucketRange,
  type ComparisonArm,
  controlRange,
  expectedArmShares,
} from './arms';
export { type ArmComparison, compareArms } from './compare-arms';
export type { LatencyHistogram } from './histogram-ranks';
export { compareLatency, type LatencyComparison, type QuantileComparison } from './latency';
export type { ComparisonOptions, ComparisonVerdict } from './options';
export {
  type ArmRate,
  compareErrorRates,
  compareRates,
  compareSuccessRates,
  type ErrorCounts,
  type RateComparison,
  type RateCounts,
  type RateDirection,
  type SuccessCounts,
} from './rates';
export {
  checkSampleRatio,
  type SampleRatioCheck,
  type SampleRatioOptions,
  USER_ESTIMATE_RELATIVE_ERROR,
} from './sample-ratio';
export {
  assignVariant,
  VARIANT_NAME_PATTERN,
  VariantAssigner,
  type VariantWeight,
} from './variants';
