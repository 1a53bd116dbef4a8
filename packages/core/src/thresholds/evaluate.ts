import type { MetricsSummary } from '../metrics/summary';
import type { CanaryConfig } from '../schemas/config';
import type { Finding, HealthInput, HealthLevel, HealthThresholds, HealthVerdict } from './types';

const DEFAULT_RATIO = 1.5;
const DEFAULT_MIN_ERROR_RATE_INCREASE = 0.02;
const DEFAULT_MIN_LATENCY_INCREASE_MS = 100;

/**
 * Judges a feature's window (and, where given, the previous window, the fleet-wide window and a
 * memory figure) against thresholds. Pure: the same input gives the same verdict.
 *
 * Error and success rates are critical only over at least `minSampleSize` calls; below that they
 * are reported as inconclusive warnings, so one failure out of two calls is never a rollback. The
 * global error rate is judged only over at least `minSampleSize` calls. Latency, memory and
 * degradation are warnings.
 */
export function evaluateHealth(input: HealthInput): HealthVerdict {
  const { window, previous, global, memoryMb, thresholds } = input;
  const findings: Finding[] = [];
  if (window !== undefined) {
    rateFindings(window, thresholds, findings);
    latencyFinding(window, thresholds, findings);
    if (previous !== undefined) degradationFindings(window, previous, thresholds, findings);
  }
  // Below the sample size the global figure only repeats what each feature's warnings say.
  if (
    global !== undefined &&
    global.errorRate !== null &&
    global.errorRate > thresholds.globalErrorRate &&
    global.calls >= thresholds.minSampleSize
  ) {
    findings.push({
      type: 'global-error-rate',
      severity: 'critical',
      value: global.errorRate,
      threshold: thresholds.globalErrorRate,
      calls: global.calls,
      conclusive: true,
      message: `global error rate ${pct(global.errorRate)} > ${pct(thresholds.globalErrorRate)} over ${global.calls} calls`,
    });
  }
  if (memoryMb !== undefined && memoryMb > thresholds.memoryWarningMb) {
    findings.push({
      type: 'high-memory',
      severity: 'warning',
      value: memoryMb,
      threshold: thresholds.memoryWarningMb,
      conclusive: true,
      message: `memory ${Math.round(memoryMb)} MB > ${thresholds.memoryWarningMb} MB`,
    });
  }
  findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1));
  const rollbackRequired = findings.some((f) => f.severity === 'critical');
  const level: HealthLevel = rollbackRequired ? 'critical' : findings.length > 0 ? 'warning' : 'healthy';
  return { level, findings, rollbackRequired };
}

/** The thresholds that apply to `feature`: its own `maxErrorRate`/`minSuccessRate` where set, else the global ones. */
export function thresholdsFor(config: CanaryConfig, feature?: string): HealthThresholds {
  const t = config.canaryRollout.thresholds;
  const own = feature === undefined ? undefined : config.canaryRollout.features[feature];
  return {
    maxErrorRate: own?.maxErrorRate ?? t.maxErrorRate,
    minSuccessRate: own?.minSuccessRate ?? t.minSuccessRate,
    globalErrorRate: t.globalErrorRate,
    latencyWarningMs: t.latencyWarningMs,
    memoryWarningMb: t.memoryWarningMb,
    minSampleSize: t.minSampleSize,
  };
}

function rateFindings(window: MetricsSummary, t: HealthThresholds, findings: Finding[]): void {
  const conclusive = window.calls >= t.minSampleSize;
  const severity = conclusive ? 'critical' : 'warning';
  if (window.errorRate !== null && window.errorRate > t.maxErrorRate) {
    findings.push({
      type: 'high-error-rate',
      severity,
      value: window.errorRate,
      threshold: t.maxErrorRate,
      calls: window.calls,
      conclusive,
      message: `error rate ${pct(window.errorRate)} > ${pct(t.maxErrorRate)}${over(window.calls, t, conclusive)}`,
    });
  }
  if (window.successRate !== null && window.successRate < t.minSuccessRate) {
    findings.push({
      type: 'low-success-rate',
      severity,
      value: window.successRate,
      threshold: t.minSuccessRate,
      calls: window.calls,
      conclusive,
      message: `success rate ${pct(window.successRate)} < ${pct(t.minSuccessRate)}${over(window.calls, t, conclusive)}`,
    });
  }
}

function latencyFinding(window: MetricsSummary, t: HealthThresholds, findings: Finding[]): void {
  const p95 = window.p95Latency;
  if (p95 === null || !(p95 > t.latencyWarningMs)) return;
  findings.push({
    type: 'high-latency',
    severity: 'warning',
    value: p95,
    threshold: t.latencyWarningMs,
    calls: window.calls,
    conclusive: window.calls >= t.minSampleSize,
    message: `p95 latency ${ms(p95)} > ${ms(t.latencyWarningMs)} over ${window.calls} calls`,
  });
}

function degradationFindings(
  current: MetricsSummary,
  previous: MetricsSummary,
  t: HealthThresholds,
  findings: Finding[],
): void {
  // Both windows must carry enough calls, or noise reads as a trend.
  const enough = Math.max(1, t.minSampleSize);
  if (current.calls < enough || previous.calls < enough) return;
  const ratio = t.degradation?.ratio ?? DEFAULT_RATIO;
  const had = (type: Finding['type']) => findings.some((f) => f.type === type);
  const now = current.errorRate;
  const before = previous.errorRate;
  if (now !== null && before !== null && !had('high-error-rate')) {
    const limit = Math.max(
      before * ratio,
      before + (t.degradation?.minErrorRateIncrease ?? DEFAULT_MIN_ERROR_RATE_INCREASE),
    );
    if (now >= limit) {
      findings.push({
        type: 'degradation',
        severity: 'warning',
        metric: 'error-rate',
        value: now,
        previous: before,
        threshold: limit,
        calls: current.calls,
        conclusive: true,
        message: `error rate rose from ${pct(before)} to ${pct(now)} since the previous window`,
      });
    }
  }
  const p95 = current.p95Latency;
  const p95Before = previous.p95Latency;
  if (p95 !== null && p95Before !== null && !had('high-latency')) {
    const limit = Math.max(
      p95Before * ratio,
      p95Before + (t.degradation?.minLatencyIncreaseMs ?? DEFAULT_MIN_LATENCY_INCREASE_MS),
    );
    if (p95 >= limit) {
      findings.push({
        type: 'degradation',
        severity: 'warning',
        metric: 'p95-latency',
        value: p95,
        previous: p95Before,
        threshold: limit,
        calls: current.calls,
        conclusive: true,
        message: `p95 latency rose from ${ms(p95Before)} to ${ms(p95)} since the previous window`,
      });
    }
  }
}

function over(calls: number, t: HealthThresholds, conclusive: boolean): string {
  return conclusive
    ? ` over ${calls} calls`
    : ` over only ${calls} calls (fewer than minSampleSize ${t.minSampleSize}: not conclusive)`;
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)} %`;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
