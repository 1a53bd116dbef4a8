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
  StoreUnavailableError,
} from './errors';
export {
  type CanaryConfig,
  type CanaryConfigInput,
  canaryConfigSchema,
  defaultConfig,
  type FeatureConfig,
  featureConfigSchema,
  loadConfigFile,
  parseConfig,
  type ThresholdsConfig,
} from './schemas/config';
export {
  FEATURE_NAME_PATTERN,
  featureNameSchema,
  isValidFeatureName,
  isValidPercentage,
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
  metricBucketSchema,
  type RollbackRecord,
  rollbackRecordSchema,
} from './schemas/records';
export {
  createMemoryStoreData,
  MemoryStore,
  type MemoryStoreData,
  type MemoryStoreOptions,
} from './storage/memory-store';
export {
  emptyMetricBucket,
  isOffForEveryone,
  mergeMetricBucket,
  mergeMetricBuckets,
  metricKey,
  newId,
  normalizeEmail,
  planRollback,
  type RollbackPlan,
} from './storage/semantics';
export type {
  LogQuery,
  RollbackRequest,
  RollbackResult,
  RolloutState,
  RolloutStore,
  StoreChange,
} from './storage/types';
export { parseStored } from './storage/validate';
