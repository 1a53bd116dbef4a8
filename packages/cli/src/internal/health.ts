import type {
  CanaryConfig,
  HealthLevel,
  RollbackRecord,
  RolloutStatus,
  RolloutStore,
} from '@canary-rollout/core';
import { evaluateHealth, thresholdsFor } from '@canary-rollout/core/monitor-kit';
import { newId } from '@canary-rollout/core/store-kit';
// Static, like the file store's import: the bin bundles both, and a dynamic import of a bundled
// package kept every export of it (no tree shaking) behind lazy initialisers, which cost each
// command start-up time (`npm run bench -- cli`).
import {
  type FeatureComparison,
  type FeatureHealth as MonitoredFeature,
  type PlanReport,
  readMonitoringStatus,
} from '@canary-rollout/monitoring';

/** A feature's health as `status` shows it. */
export interface FeatureHealth {
  readonly level: HealthLevel | 'no-data';
  /** `report`: a monitor's latest health report; `window`: judged here from the window's figures. */
  readonly source: 'report' | 'window';
  readonly findings: readonly string[];
}

/** An open incident, as the latest health report lists it. */
export interface ActiveAlert {
  readonly level: 'critical' | 'warning';
  readonly type: string;
  readonly feature: string | null;
  readonly message: string;
  readonly since: number;
}

/** Health and alerts for `status`, from the store alone (no monitor runs in the CLI). */
export interface HealthView {
  readonly level: HealthLevel | null;
  readonly features: Readonly<Record<string, FeatureHealth>>;
  readonly activeAlerts: readonly ActiveAlert[];
  /** When a monitor last wrote a health report (epoch ms), null if none ever did. */
  readonly lastReportAt: number | null;
  /** True when that report is within the metrics window, so its verdicts are current. */
  readonly reportIsFresh: boolean;
  /** Per feature, the latest report's plan and comparison (of the current stage). */
  readonly reported: Readonly<Record<string, ReportedFeature>>;
}

/**
 * Health as the monitors see it: the verdicts and active alerts of the latest health report
 * (`readMonitoringStatus` of @canary-rollout/monitoring). Where no monitor reported within the
 * window, each feature is judged here from the window's figures with the same thresholds, so the
 * dashboard still says something true when the app is not running.
 */
export async function loadHealth(
  store: RolloutStore,
  config: CanaryConfig,
  status: RolloutStatus,
  now: number,
): Promise<HealthView> {
  const monitoring = await readMonitoringStatus(store);
  const fresh = monitoring.lastTickAt !== null && now - monitoring.lastTickAt <= status.windowMs;
  const features: Record<string, FeatureHealth> = Object.create(null);
  const reportedFeatures: Record<string, ReportedFeature> = Object.create(null);
  for (const f of Object.values(status.features)) {
    const reported = monitoring.features[f.name];
    reportedFeatures[f.name] = reportedOf(monitoring.lastTickAt, reported, f.stageStartedAt);
    if (fresh && reported !== undefined) {
      features[f.name] = {
        level: reported.calls === 0 && reported.level === 'healthy' ? 'no-data' : reported.level,
        source: 'report',
        findings: reported.findings.map((x) => x.message),
      };
      continue;
    }
    if (f.metrics.calls === 0) {
      features[f.name] = { level: 'no-data', source: 'window', findings: [] };
      continue;
    }
    const verdict = evaluateHealth({ window: f.metrics, thresholds: thresholdsFor(config, f.name) });
    features[f.name] = {
      level: verdict.level,
      source: 'window',
      findings: verdict.findings.map((x) => x.message),
    };
  }
  return {
    level: fresh ? monitoring.level : null,
    features,
    activeAlerts: monitoring.activeAlerts.map((a) => ({
      level: a.level,
      type: a.type,
      feature: a.feature,
      message: a.message,
      since: a.since,
    })),
    lastReportAt: monitoring.lastTickAt,
    reportIsFresh: fresh,
    reported: reportedFeatures,
  };
}

/** What the latest health report says of one feature's plan and comparison. */
export interface ReportedFeature {
  /** When the report was made (epoch ms); null when no monitor reported yet. */
  readonly at: number | null;
  readonly plan: PlanReport | null;
  /** The comparison, when the report judged the feature's current stage. */
  readonly comparison: FeatureComparison | null;
}

/** The latest health report's view of `feature`'s plan and comparison. */
export async function reportedFeature(
  store: RolloutStore,
  feature: string,
  stageStartedAt: number,
): Promise<ReportedFeature> {
  const monitoring = await readMonitoringStatus(store);
  return reportedOf(monitoring.lastTickAt, monitoring.features[feature], stageStartedAt);
}

function reportedOf(
  at: number | null,
  reported: MonitoredFeature | undefined,
  stageStartedAt: number,
): ReportedFeature {
  const comparison = reported?.comparison;
  return {
    at,
    plan: reported?.plan ?? null,
    comparison: comparison !== undefined && comparison.since === stageStartedAt ? comparison : null,
  };
}

/**
 * The guide's "generate rollback alert" for a rollback made by hand. The entry has no incident
 * key, so monitors reading the shared log do not take it for one of their incidents.
 */
export async function recordManualRollback(store: RolloutStore, record: RollbackRecord): Promise<void> {
  await store.appendLog('alerts', {
    at: record.at,
    id: newId('alert'),
    level: 'critical',
    type: 'manual-rollback',
    feature: record.feature,
    source: record.source,
    rollbackId: record.id,
    message: `${record.feature} rolled back by hand from ${record.previous.rolloutPercentage} % (${record.previous.betaUsers} beta users): ${record.reason}`,
  });
}
