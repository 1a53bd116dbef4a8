import type { Clock } from '../clock';
import type { CanaryRolloutError } from '../errors';
import type { EvaluationReason } from '../evaluation/evaluate';
import type { CanaryConfig, CanaryConfigInput } from '../schemas/config';
import type { ConfigDefinition } from '../schemas/feature-names';
import type { FeatureRecord, MetricBucket, RollbackRecord } from '../schemas/records';
import type { RolloutState, RolloutStore } from '../storage/types';
import type { AuditEntry } from './audit';

/** Usage figures reported by the app, as in the guide. */
export interface FeatureUsage {
  /** Calls made. @default successfulCalls + failedCalls */
  readonly calls?: number;
  /** @default calls - failedCalls */
  readonly successfulCalls?: number;
  /** @default calls - successfulCalls */
  readonly failedCalls?: number;
  /** Mean latency of these calls (ms); omit when not measured. */
  readonly latency?: number;
}

/** What changed in a feature's rollout. */
export interface RolloutChange {
  readonly feature: string;
  readonly previous: Pick<FeatureRecord, 'enabled' | 'rolloutPercentage' | 'rolloutStrategy'> | null;
  readonly current: Pick<FeatureRecord, 'enabled' | 'rolloutPercentage' | 'rolloutStrategy'>;
  /** Where the change came from. */
  readonly source: 'local' | 'store';
}

/** Events of `CanaryRolloutService`. */
export type CanaryRolloutEvents = {
  /** The snapshot was replaced (argument: the store's state version). */
  change: [version: number];
  /** A feature's percentage, strategy or switch changed, here or in another process. */
  'rollout-changed': [change: RolloutChange];
  /** This service performed a rollback. */
  rollback: [record: RollbackRecord];
  /** A store fault; evaluation kept serving the last snapshot. */
  error: [error: CanaryRolloutError];
  /**
   * This process's usage since the previous flush, aggregated per (feature, arm, time bucket), as
   * the flush takes it (before it is sent; a failed send does not repeat it). Emitted only with listeners.
   */
  usage: [buckets: readonly MetricBucket[]];
  /** A change this service (or a `BetaUserService` over it) made, as written to the audit log. */
  audit: [entry: AuditEntry];
};

/** Sees each `isFeatureEnabledForUser` decision; runs on the hot path, so it must be cheap and never throw. */
export type EvaluationObserver = (feature: string, reason: EvaluationReason, userId: string) => void;

/** Options of `CanaryRolloutService`; `F` is inferred from the feature names of a config given in code. */
export interface CanaryRolloutServiceOptions<F extends string = string> {
  /** Where live state and metrics live. @default a new MemoryStore */
  readonly store?: RolloutStore;
  /** Parsed config, a config object as in the file, or a path to `canary-rollout.json`. @default no features */
  readonly config?: ConfigDefinition<F> | CanaryConfig | CanaryConfigInput | string;
  /** @default the wall clock */
  readonly clock?: Clock;
  /** How often usage is flushed to the store (ms). @default 5000 */
  readonly flushIntervalMs?: number;
  /** Width of a metrics time bucket (ms). @default 10000 */
  readonly metricsBucketMs?: number;
  /** Metric buckets held while the store is failing; beyond it the oldest are dropped and reported. @default 10000 */
  readonly maxPendingBuckets?: number;
  /** Full re-read of the store as a safety net beside change notifications (ms). @default 30000 */
  readonly refreshIntervalMs?: number;
  /** State to serve when the store cannot be read at start; without it `start()` fails. */
  readonly initialState?: RolloutState;
  /** Who this service's changes are attributed to in the audit log. @default the OS `user@host` */
  readonly actor?: string;
  /**
   * Key of the digest that stands for user ids in the audit log. Set a secret so pseudonyms
   * cannot be recomputed from guessed ids. @default a fixed, public key
   */
  readonly auditKey?: string;
}

/** Options of `flush()`. */
export interface FlushOptions {
  /**
   * Re-read the fleet-wide window for `getRolloutStatus()` after sending. With `false` it is
   * re-read only when the status was asked for since the last read. @default true
   */
  readonly refreshStatus?: boolean;
}

/** Options of a percentage change. */
export interface UpdateRolloutOptions {
  /** Override the minStableTime and maxStep guards. @default false */
  readonly force?: boolean;
}

/** Options of a plan move. */
export interface PlanMoveOptions extends UpdateRolloutOptions {
  /** Move only if the feature is still at this version (what a monitor judged). @default any version */
  readonly expectedVersion?: number;
  /** Why, kept with a paused plan. */
  readonly reason?: string;
}
