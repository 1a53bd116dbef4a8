import type { CanaryConfig, FeatureStatus, HealthLevel } from '@canary-rollout/core';
import { evaluateHealth, thresholdsFor } from '@canary-rollout/core/monitor-kit';
import type { MonitoringStatus } from '@canary-rollout/monitoring';

/** A feature's health on the page, and where the verdict comes from. */
export interface FeatureHealthView {
  readonly level: HealthLevel | 'no-data';
  /** `report`: the monitor's latest health report; `window`: judged here from the window's figures. */
  readonly source: 'report' | 'window';
  readonly findings: readonly string[];
}

/**
 * The monitor's verdict while its latest report is within the metrics window; otherwise the
 * feature is judged here from the window with the same thresholds, so the page says something
 * true when no monitor runs.
 */
export function healthOf(
  feature: FeatureStatus,
  monitoring: MonitoringStatus,
  config: CanaryConfig,
  now: number,
): FeatureHealthView {
  const fresh =
    monitoring.lastTickAt !== null && now - monitoring.lastTickAt <= config.canaryRollout.thresholds.windowMs;
  const reported = monitoring.features[feature.name];
  if (fresh && reported !== undefined) {
    return {
      level: reported.calls === 0 && reported.level === 'healthy' ? 'no-data' : reported.level,
      source: 'report',
      findings: reported.findings.map((f) => f.message),
    };
  }
  if (feature.metrics.calls === 0) return { level: 'no-data', source: 'window', findings: [] };
  const verdict = evaluateHealth({
    window: feature.metrics,
    thresholds: thresholdsFor(config, feature.name),
  });
  return { level: verdict.level, source: 'window', findings: verdict.findings.map((f) => f.message) };
}
