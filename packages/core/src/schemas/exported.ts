import { configSchemas } from './config';
import { recordSchemas } from './records';

// The schemas the entry points export, as users have them: zod schemas, built when this module is
// loaded. Core's own code reaches them through `configSchemas()` and `recordSchemas()`, so a bundle
// that never names these constants (the CLI's bin) drops this module and builds none of them at
// start-up.

/** Schema of the guide's `config/canary-rollout.json`. */
export const canaryConfigSchema = configSchemas().canaryConfig;
/** Per-feature settings of `config/canary-rollout.json`. */
export const featureConfigSchema = configSchemas().featureConfig;

/** Where a feature is in its progressive rollout plan; kept on the feature record. */
export const planStateSchema = recordSchemas().planState;
/** The live state of one feature as a store keeps it (a loose object: newer fields survive). */
export const featureRecordSchema = recordSchemas().featureRecord;
/** What a writer passes to `putFeature`: a feature record without its `version`. */
export const featureWriteSchema = recordSchemas().featureWrite;
/** A registered (beta programme) user. */
export const betaUserSchema = recordSchemas().betaUser;
/** One piece of user feedback on a feature. */
export const feedbackSchema = recordSchemas().feedback;
/** The record a rollback leaves behind. */
export const rollbackRecordSchema = recordSchemas().rollbackRecord;
/** Counters for one (feature, arm, time bucket). */
export const metricBucketSchema = recordSchemas().metricBucket;
/** The identity of an `addMetrics` batch (see `MetricBatch`). */
export const metricBatchSchema = recordSchemas().metricBatch;
/** A log line (alert or health report) with at least its time. */
export const logEntrySchema = recordSchemas().logEntry;
