/**
 * What an app needs: the rollout and beta-user services, the config, evaluation and status types,
 * the store contract's types, errors, clocks and the in-memory store. Store authors get
 * `@canary-rollout/core/store-kit`, statistics and bucketing `@canary-rollout/core/experiments`,
 * monitors, dashboards and exporters `@canary-rollout/core/monitor-kit`, tests
 * `@canary-rollout/core/testing`.
 */

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
export type { AttributeValue, EvaluationContext } from './evaluation/targeting';
export type { MetricsSummary } from './metrics/summary';
export type { BucketingAlgorithm, BucketingConfig } from './schemas/bucketing';
export {
  type CanaryConfig,
  type CanaryConfigInput,
  defaultConfig,
  type ExperimentsConfig,
  type FeatureConfig,
  loadConfigFile,
  type PlanConfig,
  type PlanStepConfig,
  parseConfig,
  type ThresholdsConfig,
  type VariantConfig,
} from './schemas/config';
export { canaryConfigSchema, featureConfigSchema } from './schemas/exported';
export type {
  ConfigDefinition,
  DeepReadonly,
  FeatureNameRegistry,
  RegisteredFeatureName,
} from './schemas/feature-names';
export {
  isValidFeatureName,
  isValidPercentage,
  normalizePercentage,
  type RolloutStrategy,
} from './schemas/names';
export type { BetaUser, FeatureRecord, Feedback, MetricBucket, RollbackRecord } from './schemas/records';
export type { AttributeType, Constraint, ConstraintOperator, Rule, Segment } from './schemas/targeting';
export type { FeaturePaths } from './services/arm-recording';
export type { AuditAction, AuditEntry, AuditState } from './services/audit';
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
export type { PlanMove, PlanStatus, PlanStatusValue } from './services/plans';
export type { RuleStatus } from './services/rule-health';
export type { RestoredState, StateLoss } from './services/state-recovery';
export {
  buildRolloutStatus,
  type FeatureStatus,
  type RolloutStatus,
  type RolloutStatusInput,
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
export { MemoryStore, type MemoryStoreOptions } from './storage/memory-store';
export type { RolloutState, RolloutStore, StoreChange } from './storage/types';
export type { HealthLevel } from './thresholds/types';
