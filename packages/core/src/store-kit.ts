/**
 * What a store author needs: the driver contract, the store built on it, and the helpers drivers
 * share (a change feed over the store's own transport, metric merging, validation and corruption
 * reports, option checks, ids, email keys, listeners, the app name a store's default location is
 * named after).
 */

export { APP_NAME_ENV, appConfigDir, resolveAppName, resolveNamespace } from './app-name';
export {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  StoreDataCorruptedError,
  StoreDataLostError,
  StoreUnavailableError,
} from './errors';
export { checkNumberOption, type NumberOptionRule } from './internal/options';
export {
  betaUserSchema,
  featureRecordSchema,
  featureWriteSchema,
  feedbackSchema,
  logEntrySchema,
  metricBatchSchema,
  metricBucketSchema,
  planStateSchema,
  rollbackRecordSchema,
} from './schemas/exported';
export type {
  BetaUser,
  FeatureRecord,
  FeatureWrite,
  Feedback,
  LogEntry,
  LogKind,
  MetricBucket,
  PlanState,
  RollbackRecord,
} from './schemas/records';
export {
  ChangeFeed,
  type ChangeFeedHooks,
  type ChangeFeedOptions,
  type ChangeFeedTransport,
  orTimeout,
  settlesWithin,
} from './storage/change-feed';
export {
  type AppliedOperations,
  applyOperations,
  commitConflicts,
  type HeldData,
  type HeldEntry,
  type HeldSet,
  jsonCopy,
} from './storage/commit-apply';
export type {
  DriverCollection,
  DriverCommit,
  DriverCommitResult,
  DriverEntry,
  DriverExpectation,
  DriverLog,
  DriverLogQuery,
  DriverOperation,
  DriverReadRequest,
  DriverSet,
  DriverSetName,
  DriverSnapshot,
  RolloutDriver,
} from './storage/driver';
export { DRIVER_COLLECTIONS, DRIVER_LOGS } from './storage/driver';
export { createRolloutStore, DriverStore, type RolloutStoreOptions } from './storage/driver-store';
export { emailKey, normalizeEmail } from './storage/emails';
export { newId } from './storage/ids';
export { callListener, ListenerSet, notifyListeners } from './storage/listeners';
export {
  createMemoryStoreData,
  MemoryDriver,
  type MemoryEntry,
  type MemoryLogLine,
  type MemorySet,
  type MemoryStoreData,
} from './storage/memory-driver';
export { jsonValueProblem, MAX_META_KEY_LENGTH, metaKeyProblem } from './storage/meta-values';
export { isHistogram, isMetricBucket, metricBucketsJson, validStoredBucket } from './storage/metric-check';
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
export { validStoredFeature, validStoredFeedback, validStoredUser } from './storage/stored-records';
export type {
  LogQuery,
  MetaExpectation,
  MetaRecord,
  MetricBatch,
  MetricsReadOptions,
  PutFeatureOptions,
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
export { packageLabel, parseArgument, parseJsonText, parseStored } from './storage/validate';
