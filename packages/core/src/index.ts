export { APP_NAME_ENV, appConfigDir, resolveAppName } from './app-name';
export {
  BUCKETS,
  bucketOf,
  type MurmurPrefix,
  murmurPrefix,
  murmurUtf8,
  percentageToThreshold,
  seedPrefix,
} from './bucketing';
export {
  flagdBucket,
  growthbookHash,
  murmurUtf8Hash,
  unleashNormalizedValue,
} from './bucketing/peers';
export { type Clock, ManualClock, systemClock } from './clock';
export {
  type CanaryErrorCode,
  CanaryRolloutError,
  ConfigInvalidError,
  ConflictError,
  InvalidArgumentError,
  isCanaryRolloutError,
  NotFoundError,
  RolloutGuardError,
  StoreDataCorruptedError,
  StoreDataLostError,
  StoreUnavailableError,
} from './errors';
export type { Decision } from './evaluation/decision';
export {
  type Evaluation,
  type EvaluationReason,
  type EvaluationStep,
  isOnReason,
  type RuleTrace,
} from './evaluation/evaluate';
export { compareSemver, isSemver } from './evaluation/semver';
export type { AttributeValue, EvaluationContext } from './evaluation/targeting';
export { type EventMap, SafeEventEmitter } from './events';
export {
  type ArmComparison,
  type ArmRate,
  armOf,
  armOfUser,
  assignVariant,
  type BucketRange,
  type ComparisonArm,
  type ComparisonOptions,
  type ComparisonVerdict,
  checkSampleRatio,
  compareArms,
  compareErrorRates,
  compareLatency,
  compareRates,
  compareSuccessRates,
  controlRange,
  type ErrorCounts,
  expectedArmShares,
  type LatencyComparison,
  type LatencyHistogram,
  type QuantileComparison,
  type RateComparison,
  type RateCounts,
  type RateDirection,
  type SampleRatioCheck,
  type SampleRatioOptions,
  type SuccessCounts,
  USER_ESTIMATE_RELATIVE_ERROR,
  VARIANT_NAME_PATTERN,
  VariantAssigner,
  type VariantWeight,
} from './experiments';
export { checkNumberOption, type NumberOptionRule } from './internal/options';
export { BETA_ARM, CONTROL_ARM, TREATMENT_ARM, VARIANT_ARM_PREFIX, variantArm } from './metrics/arm-names';
export { binValue, HISTOGRAM_BINS, histogramQuantile, latencyBin } from './metrics/histogram';
export { HLL_REGISTERS, hllEstimate } from './metrics/hyperloglog';
export { type MetricsSummary, mergeAll, selectWindow, summarize, withoutPart } from './metrics/summary';
export {
  BUCKETING_ALGORITHMS,
  type BucketingAlgorithm,
  type BucketingConfig,
  bucketingSchema,
} from './schemas/bucketing';
export {
  type CanaryConfig,
  type CanaryConfigInput,
  canaryConfigSchema,
  defaultConfig,
  type ExperimentsConfig,
  experimentsConfigSchema,
  type FeatureConfig,
  featureConfigSchema,
  loadConfigFile,
  type PlanConfig,
  type PlanStepConfig,
  parseConfig,
  planConfigSchema,
  type ThresholdsConfig,
  type VariantConfig,
} from './schemas/config';
export type {
  ConfigDefinition,
  DeepReadonly,
  FeatureNameRegistry,
  RegisteredFeatureName,
} from './schemas/feature-names';
export {
  FEATURE_NAME_PATTERN,
  featureNameSchema,
  isValidFeatureName,
  isValidPercentage,
  normalizePercentage,
  percentageSchema,
  type RolloutStrategy,
} from './schemas/names';
export {
  type BetaUser,
  betaUserSchema,
  type FeatureRecord,
  type FeatureWrite,
  type Feedback,
  featureRecordSchema,
  featureWriteSchema,
  feedbackSchema,
  type LogEntry,
  type LogKind,
  logEntrySchema,
  type MetricBucket,
  metricBatchSchema,
  metricBucketSchema,
  type PlanState,
  planStateSchema,
  type RollbackRecord,
  rollbackRecordSchema,
} from './schemas/records';
export {
  ATTRIBUTE_TYPES,
  type AttributeType,
  type Constraint,
  type ConstraintOperator,
  constraintSchema,
  OPERATORS,
  type Rule,
  ruleSchema,
  type Segment,
  segmentSchema,
} from './schemas/targeting';
export type { FeaturePaths } from './services/arm-recording';
export {
  type AuditAction,
  type AuditEntry,
  type AuditState,
  auditPseudonym,
  DEFAULT_AUDIT_KEY,
  defaultActor,
} from './services/audit';
export {
  BetaUserService,
  type BetaUserServiceOptions,
  type BetaUserView,
  type FeedbackInput,
  type FeedbackSummary,
  isValidEmail,
  type RegisterUserInput,
  type UserGroup,
} from './services/beta-user-service';
export { CanaryRolloutService } from './services/canary-rollout-service';
export { type PlanMove, type PlanStatus, type PlanStatusValue, planStatus } from './services/plans';
export { RULE_ARM_PREFIX, type RuleStatus, ruleArm } from './services/rule-health';
export type { RestoredState, StateLoss } from './services/state-recovery';
export {
  buildRolloutStatus,
  type FeatureStatus,
  type RolloutStatus,
  type RolloutStatusInput,
  withConfigFeatures,
} from './services/status';
export type {
  CanaryRolloutEvents,
  CanaryRolloutServiceOptions,
  EvaluationObserver,
  FeatureUsage,
  FlushOptions,
  PlanMoveOptions,
  RolloutChange,
  UpdateRolloutOptions,
} from './services/types';
export { emailKey, normalizeEmail } from './storage/emails';
export { newId } from './storage/ids';
export { notifyListeners } from './storage/listeners';
export {
  createMemoryStoreData,
  MemoryStore,
  type MemoryStoreData,
  type MemoryStoreOptions,
} from './storage/memory-store';
export {
  addCounts,
  addLatency,
  emptyMetricBucket,
  MAX_METRIC_COUNT,
  mergeMetricBucket,
  mergeMetricBuckets,
  metricKey,
} from './storage/metric-merge';
export { isOffForEveryone, planRollback, type RollbackPlan } from './storage/rollback-plan';
export type {
  LogQuery,
  MetaRecord,
  MetricBatch,
  MetricsReadOptions,
  RollbackRequest,
  RollbackResult,
  RolloutState,
  RolloutStore,
  StoreChange,
} from './storage/types';
export {
  assertUserIdArgument,
  describeUserId,
  isValidUserId,
  isWellFormedText,
  MAX_USER_ID_LENGTH,
  userIdProblem,
} from './storage/user-ids';
export { parseArgument, parseStored } from './storage/validate';
export { evaluateHealth, thresholdsFor } from './thresholds/evaluate';
export {
  HEALTH_MARK_PREFIX,
  type HealthMark,
  type HealthMarks,
  healthMarkKey,
  type RaiseAllowance,
  raiseAllowance,
  readHealthMarks,
  withHealthMark,
} from './thresholds/stability';
export type {
  BlindCause,
  DegradationSettings,
  Finding,
  FindingType,
  HealthInput,
  HealthLevel,
  HealthThresholds,
  HealthVerdict,
} from './thresholds/types';
