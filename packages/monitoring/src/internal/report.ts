import { worst } from '../status';
import type { ActiveAlert, FeatureHealth, HealthReport } from '../types';
import type { TickOutcome } from './apply';
import type { TickDecision } from './decision';

/** The health report of one tick: what it decided and what applying that did. */
export function buildReport(input: {
  windowMs: number;
  decision: TickDecision;
  outcome: TickOutcome;
  activeAlerts: ActiveAlert[];
  monitor: string;
}): HealthReport {
  const { decision, outcome } = input;
  const { verdicts, global, fleetWide } = decision;
  const features: Record<string, FeatureHealth> = Object.create(null);
  for (const [name, { record, window, verdict, comparison }] of verdicts) {
    const plan = outcome.plans.get(name);
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
    at: decision.now,
    level: worst([
      global.level,
      ...[...verdicts.values()].map((v) => v.verdict.level),
      // A blind monitor cannot call anything healthy.
      ...input.activeAlerts.filter((a) => a.type === 'monitor-blind').map(() => 'critical' as const),
    ]),
    windowMs: input.windowMs,
    global: {
      level: global.level,
      calls: fleetWide.calls,
      errorRate: fleetWide.errorRate,
      memoryMb: decision.memoryMb,
      findings: global.findings,
    },
    features,
    activeAlerts: input.activeAlerts,
    rolledBack: [...outcome.rolledBack],
    monitor: input.monitor,
  };
}
