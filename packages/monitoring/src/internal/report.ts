import type { HealthVerdict, MetricsSummary } from '@canary-rollout/core';
import { worst } from '../status';
import type { ActiveAlert, FeatureHealth, HealthReport, PlanReport } from '../types';
import type { Judged } from './judged';

/** The health report of one tick. */
export function buildReport(input: {
  at: number;
  windowMs: number;
  judged: ReadonlyMap<string, Judged>;
  global: HealthVerdict;
  fleetWide: MetricsSummary;
  memoryMb: number;
  activeAlerts: ActiveAlert[];
  rolledBack: Iterable<string>;
  plans: ReadonlyMap<string, PlanReport>;
  monitor: string;
}): HealthReport {
  const { judged, global, fleetWide } = input;
  const features: Record<string, FeatureHealth> = Object.create(null);
  for (const [name, { record, window, verdict, comparison }] of judged) {
    const plan = input.plans.get(name);
    features[name] = {
      level: verdict.level,
      enabled: record.enabled,
      rolloutPercentage: record.rolloutPercentage,
      rolloutStrategy: record.rolloutStrategy,
      calls: window.calls,
      errorRate: window.errorRate,
      successRate: window.successRate,
      p95Latency: window.p95Latency,
      findings: verdict.findings,
      ...(comparison === undefined ? {} : { comparison }),
      ...(plan === undefined ? {} : { plan }),
    };
  }
  return {
    at: input.at,
    level: worst([
      global.level,
      ...[...judged.values()].map((j) => j.verdict.level),
      // A blind monitor cannot call anything healthy.
      ...input.activeAlerts.filter((a) => a.type === 'monitor-blind').map(() => 'critical' as const),
    ]),
    windowMs: input.windowMs,
    global: {
      level: global.level,
      calls: fleetWide.calls,
      errorRate: fleetWide.errorRate,
      memoryMb: input.memoryMb,
      findings: global.findings,
    },
    features,
    activeAlerts: input.activeAlerts,
    rolledBack: [...input.rolledBack],
    monitor: input.monitor,
  };
}
