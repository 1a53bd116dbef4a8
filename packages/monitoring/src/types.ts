import type {
  CanaryRolloutError,
  CanaryRolloutService,
  Clock,
  DegradationSettings,
  Finding,
  FindingType,
  HealthLevel,
  RollbackRecord,
  RolloutChange,
  RolloutStrategy,
} from '@canary-rollout/core';

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
  /** `<feature>|<level>`, or `*|<level>` for the fleet. */
  readonly key: string;
  readonly level: 'critical' | 'warning';
  /** The leading finding: `high-error-rate`, `low-success-rate`, `global-error-rate`, `high-latency`, ... */
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
  /** `feature` when the feature's own figures were critical; `global-error-rate` for the fleet. */
  readonly cause: 'feature' | 'global-error-rate';
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
  /** A health report, once per tick. */
  health: [report: HealthReport];
  /** A feature's percentage, strategy or switch changed (forwarded from the rollout service). */
  'rollout-changed': [change: RolloutChange];
  /** A store fault or a failed step of a tick; the loop carries on. */
  error: [error: CanaryRolloutError];
};
