/**
 * Instrument names, units and attribute keys. Prometheus shows dots as underscores and adds the
 * unit and `_total` where its conventions want them (`canary_rollout_feature_calls_total`).
 */
export const INSTRUMENTS = {
  /** Calls of a feature per arm, cumulative in this process (counter, `{call}`). */
  calls: 'canary_rollout.feature.calls',
  /** Failed calls per arm, cumulative in this process (counter, `{call}`). */
  failures: 'canary_rollout.feature.failures',
  /** Latency of calls per arm (histogram, `ms`), from the in-memory histogram; see `/sdk`. */
  latency: 'canary_rollout.feature.latency',
  /** Rollout percentage per feature (gauge, `%`). */
  percentage: 'canary_rollout.rollout.percentage',
  /** Health level per feature, `*` for the fleet: 0 healthy, 1 warning, 2 critical (gauge). */
  healthLevel: 'canary_rollout.health.level',
  /** Open incidents per level (gauge, `{alert}`). */
  activeAlerts: 'canary_rollout.alerts.active',
  /** Alerts raised, per feature, kind (finding type) and level (counter, `{alert}`). */
  alerts: 'canary_rollout.alerts',
  /** Rollbacks performed by this process, per feature and kind (`manual` or `automatic`) (counter). */
  rollbacks: 'canary_rollout.rollbacks',
  /** Evaluations per feature and reason, opt-in (counter, `{evaluation}`). */
  evaluations: 'canary_rollout.evaluations',
  /** Fleet-wide calls in the monitoring window, read from the store (gauge, `{call}`). */
  windowCalls: 'canary_rollout.window.calls',
  /** Fleet-wide failed calls in the monitoring window, read from the store (gauge, `{call}`). */
  windowFailures: 'canary_rollout.window.failures',
} as const;

/** Attribute keys of the metrics. The feature uses the semantic conventions' `feature_flag.key`. */
export const ATTRIBUTES = {
  feature: 'feature_flag.key',
  arm: 'canary_rollout.arm',
  strategy: 'canary_rollout.strategy',
  reason: 'canary_rollout.reason',
  kind: 'canary_rollout.kind',
  level: 'canary_rollout.level',
} as const;

/** The event name of the feature-flag semantic conventions. */
export const EVALUATION_EVENT = 'feature_flag.evaluation';
