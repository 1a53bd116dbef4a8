import { z } from 'zod';
import { bucketingSchemas } from './bucketing';
import { lazy } from './lazy';
import { nameSchemas } from './names';
import { targetingSchemas } from './targeting';

/** The schemas of stored records, built on first use. */
export const recordSchemas = lazy(() => {
  const { featureName, percentage, rolloutStrategy, userId } = nameSchemas();
  const { bucketing } = bucketingSchemas();
  const { prerequisites, rules } = targetingSchemas();
  const epochMs = z.number().int().nonnegative();
  const count = z.number().int().nonnegative();

  /** Where a feature is in its progressive rollout plan; kept on the feature record. */
  const planStateSchema = z.looseObject({
    /** `running`: the monitor moves it; `paused`: held by hand or after a step down; `completed`: at its last step; `stopped`. */
    status: z.enum(['running', 'paused', 'completed', 'stopped']),
    /** Index of the current step in the configured plan. */
    stepIndex: count,
    /** When the current step began (epoch ms). */
    stepStartedAt: epochMs,
    /** Why the plan is paused or stopped, for people. */
    reason: z.string().max(1000).optional(),
    /** The feature's `lastRollbackAt` when the plan last moved: a later rollback stops the plan. */
    lastRollbackAt: epochMs.optional(),
  });

  /**
   * The live state of one feature as a store keeps it. Loose objects: a field written by a newer
   * version survives a read and write by this one, and so do the `healthySince` and
   * `unhealthySince` marks earlier versions kept here (health marks are meta records now, see
   * `healthMarkKey`).
   */
  const featureRecordSchema = z.looseObject({
    name: featureName,
    enabled: z.boolean(),
    rolloutPercentage: percentage,
    rolloutStrategy: rolloutStrategy,
    /** Mixed into the hash so features pick independent users; defaults to the name. */
    salt: z.string().min(1).max(128),
    /** Compare-and-set version: 1 on creation, +1 on every write. */
    version: z.number().int().positive(),
    updatedAt: epochMs,
    /** When the current percentage and strategy took effect (for minStableTime). */
    stageStartedAt: epochMs,
    /**
     * The record version at which the current stage began: usage is recorded under it, so a
     * stage is judged on its own calls whatever the clocks of the processes say. Absent on
     * records written before stages were numbered.
     */
    stageVersion: z.number().int().positive().optional(),
    lastRollbackAt: epochMs.optional(),
    /** Progress of the feature's progressive rollout plan, when it has one. */
    plan: planStateSchema.optional(),
    /** The feature's bucketing when it is not ours (see the config key of the same name). */
    bucketing: bucketing.optional(),
    /** Targeting rules, first match wins (see the config key of the same name). */
    rules: rules.optional(),
    /** Features that must be on for the same context. */
    prerequisites: prerequisites.optional(),
  });
  const featureWriteSchema = featureRecordSchema.omit({ version: true });

  const betaUserSchema = z.looseObject({
    id: userId,
    email: z.string().min(3).max(320),
    name: z.string().max(200),
    interests: z.array(featureName),
    createdAt: epochMs,
  });

  const feedbackSchema = z.looseObject({
    id: z.string().min(1),
    userId: userId,
    feature: featureName,
    rating: z.number().int().min(1).max(5),
    comment: z.string().max(4000).optional(),
    at: epochMs,
  });

  const rollbackRecordSchema = z.looseObject({
    id: z.string().min(1),
    feature: featureName,
    at: epochMs,
    reason: z.string().max(1000),
    source: z.enum(['manual', 'automatic']),
    previous: z.looseObject({
      rolloutPercentage: percentage,
      rolloutStrategy: rolloutStrategy,
      betaUsers: count,
    }),
    figures: z.record(z.string(), z.number()).optional(),
  });

  /** Arm of a feature's traffic: `treatment` (the feature ran), `control`, or `variant:<name>`. */
  const armSchema = z.string().regex(/^[A-Za-z0-9:_.-]{1,80}$/);

  /**
   * Counters for one (feature, arm, time bucket). Deltas are added; the same shape comes back
   * merged over every process that flushed into the store.
   */
  const metricBucketSchema = z.looseObject({
    feature: featureName,
    arm: armSchema,
    /** Start of the time bucket, epoch ms, a multiple of the bucket width. */
    bucketStart: epochMs,
    /**
     * The feature's `stageVersion` the calls were decided under; part of the bucket's key, so the
     * calls of two stages in one time bucket stay apart. Absent when the record had none.
     */
    stage: z.number().int().positive().optional(),
    calls: count,
    successes: count,
    failures: count,
    latencyCount: count,
    latencySumMs: z.number().nonnegative(),
    /** Latency histogram: bin index (see `latencyBin`) to count. Merged by adding. */
    histogram: z.record(z.string().regex(/^\d{1,3}$/), count),
    /** HyperLogLog registers of distinct users: register index to rank. Merged by max. */
    users: z.record(z.string().regex(/^\d{1,4}$/), z.number().int().min(1).max(32)),
  });

  /** The identity of an `addMetrics` batch (see `MetricBatch`). */
  const metricBatchSchema = z.object({
    writer: z.string().min(1).max(128),
    seq: z.number().int().positive(),
  });

  /** A log line (alert or health report); the monitoring package defines the shapes. */
  const logEntrySchema = z.looseObject({ at: epochMs });
  return {
    planState: planStateSchema,
    featureRecord: featureRecordSchema,
    featureWrite: featureWriteSchema,
    betaUser: betaUserSchema,
    feedback: feedbackSchema,
    rollbackRecord: rollbackRecordSchema,
    arm: armSchema,
    metricBucket: metricBucketSchema,
    metricBatch: metricBatchSchema,
    logEntry: logEntrySchema,
  };
});

type RecordSchemas = ReturnType<typeof recordSchemas>;
/** A feature's place in its plan, as stored. */
export type PlanState = z.infer<RecordSchemas['planState']>;
/** A feature's live state as stored. */
export type FeatureRecord = z.infer<RecordSchemas['featureRecord']>;
/** What a writer passes to `putFeature`; the store assigns `version`. */
export type FeatureWrite = z.infer<RecordSchemas['featureWrite']>;
/** A registered (beta programme) user. Holds personal data: email and name. */
export type BetaUser = z.infer<RecordSchemas['betaUser']>;
/** One piece of user feedback on a feature. */
export type Feedback = z.infer<RecordSchemas['feedback']>;
/** The record a rollback leaves behind. */
export type RollbackRecord = z.infer<RecordSchemas['rollbackRecord']>;
/** Counters of one (feature, arm, time bucket). */
export type MetricBucket = z.infer<RecordSchemas['metricBucket']>;
/** A JSON log entry with at least its time. */
export type LogEntry = z.infer<RecordSchemas['logEntry']>;
/** The store's logs: the guide's alerts.jsonl and health-reports.jsonl, and the audit trail of changes. */
export type LogKind = 'alerts' | 'health-reports' | 'audit';
