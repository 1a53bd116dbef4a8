import type { MetricsSummary } from '../metrics/summary';

/** Overall health of a feature, or of the fleet. */
export type HealthLevel = 'healthy' | 'warning' | 'critical';

/** What a finding is about. */
export type FindingType =
  | 'high-error-rate'
  | 'low-success-rate'
  | 'high-latency'
  | 'high-memory'
  | 'degradation'
  | 'global-error-rate'
  | 'treatment-worse'
  | 'sample-ratio-mismatch'
  /** Another process's clock (or this monitor's) is off by more than a few seconds: `value` ms. */
  | 'clock-skew'
  | 'monitor-blind';

/** Why a monitor cannot see (a `monitor-blind` finding). */
export type BlindCause = 'traffic-vanished' | 'slow-tick' | 'flush-failing' | 'state-lost';

/** One threshold crossed, with the figure measured and the limit it crossed. */
export interface Finding {
  readonly type: FindingType;
  readonly severity: 'warning' | 'critical';
  /** The measured figure: a rate 0..1, a latency in ms or a memory figure in MB. */
  readonly value: number;
  /** The limit `value` crossed, in the same unit. */
  readonly threshold: number;
  /** Calls behind the figure (absent for memory). */
  readonly calls?: number;
  /**
   * For `degradation`: which figure got worse, and `previous` its value in the previous window.
   * For `treatment-worse`: the metric compared (`value` is then the effect, treatment minus
   * control, and `threshold` 0).
   */
  readonly metric?: 'error-rate' | 'success-rate' | 'latency' | 'p50-latency' | 'p95-latency';
  readonly previous?: number;
  /** For `treatment-worse`: the control's figure, the always-valid interval of the effect, and the control's calls. */
  readonly control?: number;
  readonly interval?: readonly [number, number];
  readonly controlCalls?: number;
  /** For `monitor-blind`: what blinds the monitor. */
  readonly cause?: BlindCause;
  /** False when the figure rests on fewer calls than `minSampleSize`: reported, never critical. */
  readonly conclusive: boolean;
  /** One line for people, without personal data. */
  readonly message: string;
}

/** How much worse the current window must be than the previous one to count as degradation. */
export interface DegradationSettings {
  /** Current figure at least this multiple of the previous one. @default 1.5 */
  readonly ratio?: number;
  /** And the error rate up by at least this much (absolute). @default 0.02 */
  readonly minErrorRateIncrease?: number;
  /** And p95 latency up by at least this many ms. @default 100 */
  readonly minLatencyIncreaseMs?: number;
}

/** The limits one evaluation applies (the config's thresholds, per feature where overridden). */
export interface HealthThresholds {
  /** @default 0.05 */
  readonly maxErrorRate: number;
  /** @default 0.95 */
  readonly minSuccessRate: number;
  /** @default 0.1 */
  readonly globalErrorRate: number;
  /** Warning above this p95 latency (ms). @default 5000 */
  readonly latencyWarningMs: number;
  /** Warning above this memory figure (MB). @default 512 */
  readonly memoryWarningMb: number;
  /** Below this many calls in a window no finding is critical. @default 100 */
  readonly minSampleSize: number;
  /** @default { ratio: 1.5, minErrorRateIncrease: 0.02, minLatencyIncreaseMs: 100 } */
  readonly degradation?: DegradationSettings | undefined;
}

/** What `evaluateHealth` judges; every part is optional and adds its own findings. */
export interface HealthInput {
  /** A feature's figures over the current window. */
  readonly window?: MetricsSummary | undefined;
  /** The same feature over the window before, for `degradation`. */
  readonly previous?: MetricsSummary | undefined;
  /** Every feature's calls merged, for `global-error-rate`. */
  readonly global?: MetricsSummary | undefined;
  /** Memory in use (MB), for `high-memory`. */
  readonly memoryMb?: number | undefined;
  readonly thresholds: HealthThresholds;
}

/** The result of `evaluateHealth`. */
export interface HealthVerdict {
  readonly level: HealthLevel;
  /** Critical findings first. */
  readonly findings: readonly Finding[];
  /** True when a finding is critical: the guide's "rollback required". */
  readonly rollbackRequired: boolean;
}
