import type {
  CanaryRolloutError,
  CanaryRolloutService,
  Clock,
  ExperimentsConfig,
  HealthLevel,
  PlanStatusValue,
  RollbackRecord,
  RolloutChange,
  RolloutStrategy,
} from '@canary-rollout/core';
import type { ComparisonVerdict } from '@canary-rollout/core/experiments';
import type { DegradationSettings, Finding, FindingType } from '@canary-rollout/core/monitor-kit';

/** Options of `RolloutMonitoringService`. Defaults come from the config's `canaryRollout.monitoring`. */
export interface RolloutMonitoringServiceOptions {
  /** The rollout service whose features are watched and rolled back. */
  readonly rollout: CanaryRolloutService;
  /** @default the rollout service's clock */
  readonly clock?: Clock;
  /** Time between ticks (ms). @default monitoring.intervalMs (30000) */
  readonly intervalMs?: number;
  /** Roll back by itself on a critical verdict. @default monitoring.autoRollback (true) */
  readonly autoRollback?: boolean;
  /** One incident raises one alert per this period (ms). @default monitoring.alertCooldownMs (600000) */
  readonly alertCooldownMs?: number;
  /** Memory in use by this process, in bytes. @default () => process.memoryUsage().rss */
  readonly memoryUsage?: () => number;
  /** What counts as degradation between two windows. @default { ratio: 1.5, minErrorRateIncrease: 0.02, minLatencyIncreaseMs: 100 } */
  readonly degradation?: DegradationSettings;
  /** Names this monitor in log entries. @default a random id */
  readonly monitorId?: string;
  /**
   * What a treatment significantly worse than its control leads to: `off` (no comparison),
   * `alert`, `hold` (plans also wait while worse or inconclusive) or `rollback`.
   * @default experiments.comparison ('alert')
   */
  readonly comparison?: ExperimentsConfig['comparison'];
}

/** What an alert is about: one feature, or the fleet as a whole (`null`). */
export type AlertSubject = string | null;

/**
 * An alert, as emitted and as appended to the store's `alerts` log (the guide's `alerts.jsonl`).
 * One incident (a feature or the fleet at one level) gives one alert, repeated at most once per
 * cooldown while it lasts, and one entry with `resolved: true` when it ends.
 */
export type Alert = {
  /** Epoch ms of this entry. */
  readonly at: number;
  /** The incident's id: the same on its alert, reminders and resolution. */
  readonly id: string;
  /** `<feature>|<level>`, `*|<level>` for the fleet, `monitor:<monitorId>|critical` for `monitor-blind`. */
  readonly key: string;
  readonly level: 'critical' | 'warning';
  /**
   * The leading finding: `high-error-rate`, `low-success-rate`, `global-error-rate`, `high-latency`,
   * ..., or `monitor-blind` when the monitor cannot see (its findings say why; never a rollback).
   */
  readonly type: FindingType;
  /** The feature, or null for a fleet-wide alert (global error rate, memory). */
  readonly feature: AlertSubject;
  /** Every finding of this level, with measured value and threshold. */
  readonly findings: readonly Finding[];
  /** The guide's "rollback required": a critical verdict. */
  readonly rollbackRequired: boolean;
  /** Whether this monitor rolls back by itself (it does so right after a critical alert). */
  readonly autoRollback: boolean;
  /** False on a new or repeated alert, true when the incident is over. */
  readonly resolved: boolean;
  /** True on a reminder of an incident that outlasted the cooldown. */
  readonly repeat: boolean;
  /** When the incident began (epoch ms). */
  readonly since: number;
  readonly message: string;
  /** The monitor that wrote the entry. */
  readonly monitor: string;
};

/** The `rollback` event: a rollback this monitor performed. */
export interface RollbackEvent {
  readonly feature: string;
  /**
   * `feature` when the feature's own figures were critical; `global-error-rate` for the fleet;
   * `treatment-worse` when the treatment was significantly worse than its control (with
   * `comparison: 'rollback'`).
   */
  readonly cause: 'feature' | 'global-error-rate' | 'treatment-worse';
  /** The reason stored with the rollback record. */
  readonly reason: string;
  readonly findings: readonly Finding[];
  /** The figures stored with the rollback record (rates, calls, thresholds). */
  readonly figures: Readonly<Record<string, number>>;
  readonly record: RollbackRecord;
}

/** One feature's health in a report. */
export interface FeatureHealth {
  readonly level: HealthLevel;
  readonly enabled: boolean;
  readonly rolloutPercentage: number;
  readonly rolloutStrategy: RolloutStrategy;
  /** Calls in the current window (since the stage began, at most `windowMs` back). */
  readonly calls: number;
  readonly errorRate: number | null;
  readonly successRate: number | null;
  readonly p95Latency: number | null;
  readonly findings: readonly Finding[];
  /** Treatment against control (and variants) since the stage began; absent when nothing is compared. */
  readonly comparison?: FeatureComparison;
  /** Where the feature's plan stands; absent without a plan. */
  readonly plan?: PlanReport;
}

/** One arm's side of a comparison. */
export interface ArmFigures {
  /** `treatment`, `control` or `variant:<name>`. */
  readonly arm: string;
  readonly calls: number;
  readonly failures: number;
  readonly errorRate: number | null;
  /** Estimated distinct users (about ±2.3 %). */
  readonly users: number;
}

/** One metric of a comparison. */
export interface MetricComparison {
  readonly metric: 'error-rate' | 'success-rate' | 'latency' | 'p50-latency' | 'p95-latency';
  readonly verdict: ComparisonVerdict;
  /**
   * The treatment's figure: a rate, a latency in ms (p50, p95), or for `latency` the chance that a
   * treatment call is slower than a control call (0.5: no shift). Null when an arm is empty.
   */
  readonly treatment: number | null;
  readonly control: number | null;
  /** Treatment minus control (rate points as a fraction, ms, or chance − 0.5). */
  readonly effect: number | null;
  /** Always-valid interval of the effect; null where unbounded. */
  readonly interval: readonly [number | null, number | null];
  /** Always-valid p-value of this look. */
  readonly pValue: number;
}

/** Two arms compared on every metric. */
export interface ArmsComparison {
  /** `worse` when any metric is worse, else `better` when any is better, else by the error rate. */
  readonly verdict: ComparisonVerdict;
  readonly treatment: ArmFigures;
  readonly control: ArmFigures;
  readonly metrics: readonly MetricComparison[];
}

/** A sample-ratio-mismatch check on distinct users per arm. */
export interface SampleRatioSummary {
  /** True when the split is broken: do not trust the comparison. */
  readonly mismatch: boolean;
  /** False while too few users to judge. */
  readonly sufficient: boolean;
  readonly pValue: number;
  /** Estimated distinct users per arm (or variant). */
  readonly users: Readonly<Record<string, number>>;
  readonly expectedShares: Readonly<Record<string, number>>;
  readonly observedShares: Readonly<Record<string, number>>;
  /** Treatment against control only: the same split checked on calls, which are counted exactly. */
  readonly calls?: CallRatioSummary;
}

/**
 * The split of calls between treatment and control. Exact counts see small skews (50.5/49.5) that
 * the ±2.3 % of the user estimates hide; a mismatch raises a warning but, since a treatment can
 * change how often users call, does not keep the monitor from acting on a worse verdict.
 */
export interface CallRatioSummary {
  readonly mismatch: boolean;
  readonly pValue: number;
  readonly calls: Readonly<Record<string, number>>;
  /** Variance of the calls over a coin toss's: 1 + calls per user. */
  readonly dispersion: number;
  readonly expectedShares: Readonly<Record<string, number>>;
  readonly observedShares: Readonly<Record<string, number>>;
}

/** A feature's comparisons in a health report, on every call since its stage began. */
export interface FeatureComparison {
  /** Start of the data compared: the feature's stage start (epoch ms). */
  readonly since: number;
  /** Treatment against control; null where no control exists (100 %, stable, beta-only). */
  readonly verdict: ComparisonVerdict | null;
  readonly treatmentVsControl: ArmsComparison | null;
  /** The split of users between treatment and control. */
  readonly sampleRatio: SampleRatioSummary | null;
  /** Each variant against the first one configured, and their split. */
  readonly variants?: {
    readonly baseline: string;
    readonly comparisons: readonly ArmsComparison[];
    readonly sampleRatio: SampleRatioSummary;
  };
}

/** A feature's plan in a health report. */
export interface PlanReport {
  readonly status: PlanStatusValue;
  /** Why paused or stopped. */
  readonly reason: string | null;
  /** 0-based index of the current step, and the number of steps. */
  readonly stepIndex: number;
  readonly steps: number;
  readonly stepPercentage: number;
  readonly nextPercentage: number | null;
  /** The earliest the next step may come (epoch ms); null when not running. */
  readonly nextStepAt: number | null;
  /** Why the monitor held the plan this tick (a running plan that did not advance). */
  readonly holding: string | null;
  /** Treatment calls since the step began, against the step's `minSamples`. */
  readonly treatmentCalls: number;
}

/** The `plan` event: a monitor moved a feature's plan. */
export interface PlanEvent {
  readonly feature: string;
  /** `advance` (to the next step; the last completes the plan) or `step-down` (after a critical verdict). */
  readonly move: 'advance' | 'step-down';
  readonly fromPercentage: number;
  readonly toPercentage: number;
  readonly stepIndex: number;
  readonly status: PlanStatusValue;
  readonly reason: string;
}

/**
 * The fleet-wide part of a report. The global error rate counts the calls of every feature not
 * critical on its own figures (those are rolled back on their own, and must not drag healthy
 * features down with them).
 */
export interface GlobalHealth {
  readonly level: HealthLevel;
  readonly calls: number;
  readonly errorRate: number | null;
  /** This process's memory (MB). */
  readonly memoryMb: number;
  readonly findings: readonly Finding[];
}

/** An open incident, as listed in reports and status. */
export interface ActiveAlert {
  readonly id: string;
  readonly level: 'critical' | 'warning';
  readonly type: FindingType;
  readonly feature: AlertSubject;
  readonly since: number;
  readonly message: string;
}

/** The `health` event, appended to the store's `health-reports` log each tick. */
export type HealthReport = {
  readonly at: number;
  /** The worst level of any feature and of the fleet. */
  readonly level: HealthLevel;
  readonly windowMs: number;
  readonly global: GlobalHealth;
  /** Feature name to its health (an object without prototype). */
  readonly features: Readonly<Record<string, FeatureHealth>>;
  readonly activeAlerts: readonly ActiveAlert[];
  /** Features this monitor rolled back during the tick. */
  readonly rolledBack: readonly string[];
  readonly monitor: string;
};

/** Health, active alerts and the last rollback: what the CLI's `status` shows. */
export interface MonitoringStatus {
  /** True while a monitor's loop runs (from the store alone: unknown, so false). */
  readonly running: boolean;
  /** When the last report was made (epoch ms); null before the first tick. */
  readonly lastTickAt: number | null;
  /** The latest rollback of any feature by anyone (epoch ms), null if none. */
  readonly lastRollbackAt: number | null;
  readonly level: HealthLevel | null;
  readonly global: GlobalHealth | null;
  readonly features: Readonly<Record<string, FeatureHealth>>;
  readonly activeAlerts: readonly ActiveAlert[];
}

/** Events of `RolloutMonitoringService`. */
export type MonitoringEvents = {
  /** A new or repeated alert, or the resolution of one (`resolved: true`). */
  alert: [alert: Alert];
  /** This monitor rolled a feature back. */
  rollback: [event: RollbackEvent];
  /** This monitor moved a feature's plan (a `rollout-changed` is emitted as well). */
  plan: [event: PlanEvent];
  /** A health report, once per tick. */
  health: [report: HealthReport];
  /** A feature's percentage, strategy or switch changed (forwarded from the rollout service). */
  'rollout-changed': [change: RolloutChange];
  /** A store fault or a failed step of a tick; the loop carries on. */
  error: [error: CanaryRolloutError];
};
