import type { MetricsSummary } from '@canary-rollout/core';
import type { Finding } from '@canary-rollout/core/monitor-kit';

const MAX_REASON = 1000;

/** The reason stored with an automatic rollback: every critical finding, one sentence. */
export function rollbackReason(findings: readonly Finding[]): string {
  const critical = findings.filter((f) => f.severity === 'critical');
  const text = `automatic rollback: ${critical.map((f) => f.message).join('; ')}`;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 3)}...` : text;
}

/** Figures kept with a rollback record: what was measured and the limits it crossed. */
export function rollbackFigures(
  window: MetricsSummary,
  findings: readonly Finding[],
  windowMs: number,
): Record<string, number> {
  const figures: Record<string, number> = {
    calls: window.calls,
    failedCalls: window.failedCalls,
    successfulCalls: window.successfulCalls,
    windowMs,
  };
  if (window.errorRate !== null) figures.errorRate = window.errorRate;
  if (window.successRate !== null) figures.successRate = window.successRate;
  if (window.p95Latency !== null) figures.p95Latency = window.p95Latency;
  for (const finding of findings) {
    if (finding.severity !== 'critical') continue;
    if (finding.type === 'high-error-rate') figures.maxErrorRate = finding.threshold;
    if (finding.type === 'low-success-rate') figures.minSuccessRate = finding.threshold;
    if (finding.type === 'treatment-worse' && figures.effect === undefined) {
      // The leading metric's effect, its interval and both arms' sizes (finite values only).
      figures.effect = finding.value;
      const [low, high] = finding.interval ?? [Number.NaN, Number.NaN];
      if (Number.isFinite(low)) figures.effectLow = low;
      if (Number.isFinite(high)) figures.effectHigh = high;
      if (finding.control !== undefined && Number.isFinite(finding.control))
        figures.control = finding.control;
      if (finding.calls !== undefined) figures.treatmentCalls = finding.calls;
      if (finding.controlCalls !== undefined) figures.controlCalls = finding.controlCalls;
    }
    if (finding.type === 'global-error-rate') {
      figures.globalErrorRate = finding.value;
      figures.globalErrorRateThreshold = finding.threshold;
      if (finding.calls !== undefined) figures.globalCalls = finding.calls;
    }
  }
  return figures;
}

/** Bytes to MB, rounded to 0.1. */
export function toMb(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
