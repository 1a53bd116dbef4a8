import type { MetricBucket } from '@canary-rollout/core';
import type { ArmComparison, ComparisonVerdict } from '@canary-rollout/core/experiments';
import { type Finding, hllEstimate } from '@canary-rollout/core/monitor-kit';
import type {
  ArmFigures,
  ArmsComparison,
  CallRatioSummary,
  MetricComparison,
  SampleRatioSummary,
} from '../types';

function finite(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

function interval(pair: readonly [number, number]): [number | null, number | null] {
  return [finite(pair[0]), finite(pair[1])];
}

function figures(arm: string, bucket: MetricBucket): ArmFigures {
  return {
    arm,
    calls: bucket.calls,
    failures: bucket.failures,
    errorRate: bucket.calls === 0 ? null : bucket.failures / bucket.calls,
    users: Math.round(hllEstimate(bucket.users)),
  };
}

/** The comparison of two arms as reports carry it: plain, finite figures. */
export function summarize(
  result: ArmComparison,
  counted: ReadonlySet<string>,
  treatmentArm: string,
  controlArm: string,
  treatment: MetricBucket,
  control: MetricBucket,
): ArmsComparison {
  const { errorRate, successRate, latency } = result;
  const rate = (r: typeof errorRate, metric: MetricComparison['metric']): MetricComparison => ({
    metric,
    verdict: r.verdict,
    treatment: r.treatment.rate,
    control: r.control.rate,
    effect: r.effect,
    interval: interval(r.interval),
    pValue: r.pValue,
  });
  const quantile = (q: typeof latency.p50, metric: MetricComparison['metric']): MetricComparison => ({
    metric,
    verdict: q.verdict,
    treatment: q.treatment,
    control: q.control,
    effect: q.effect,
    interval: interval(q.interval),
    pValue: q.pValue,
  });
  const metrics: MetricComparison[] = [
    rate(errorRate, 'error-rate'),
    rate(successRate, 'success-rate'),
    {
      metric: 'latency',
      verdict: latency.verdict,
      treatment: latency.probabilitySlower,
      control: 0.5,
      effect: latency.probabilitySlower === null ? null : latency.probabilitySlower - 0.5,
      interval: [latency.interval[0] - 0.5, latency.interval[1] - 0.5],
      pValue: latency.pValue,
    },
    quantile(latency.p50, 'p50-latency'),
    quantile(latency.p95, 'p95-latency'),
  ];
  return {
    verdict: verdictOf(metrics, counted, errorRate.verdict),
    treatment: figures(treatmentArm, treatment),
    control: figures(controlArm, control),
    metrics,
  };
}

/** 'worse' when a counted metric is worse, else 'better' when one is better, else by the error rate. */
function verdictOf(
  metrics: readonly MetricComparison[],
  counted: ReadonlySet<string>,
  errorRate: ComparisonVerdict,
): ComparisonVerdict {
  const verdicts = metrics.filter((m) => counted.has(m.metric)).map((m) => m.verdict);
  if (verdicts.includes('worse')) return 'worse';
  if (verdicts.includes('better')) return 'better';
  return errorRate === 'inconclusive' ? 'inconclusive' : 'no-detectable-difference';
}

const points = (rate: number) => `${(rate * 100).toFixed(1)} %`;
const signedPoints = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(1)} pts`;
const ms = (value: number) => `${Math.round(value)} ms`;
const signedMs = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(Math.round(d))} ms`;
const bound = (value: number | null, f: (v: number) => string) => (value === null ? '∞' : f(value));

/** One `treatment-worse` finding per metric the treatment is worse on, the error rate first. */
export function worseFindings(
  c: ArmsComparison,
  counted: ReadonlySet<string>,
  severity: Finding['severity'],
): Finding[] {
  const out: Finding[] = [];
  const sizes = `${c.treatment.calls} treatment / ${c.control.calls} control calls`;
  const errorRateWorse = c.metrics.some((m) => m.metric === 'error-rate' && m.verdict === 'worse');
  for (const m of c.metrics) {
    if (m.verdict !== 'worse' || m.effect === null || !counted.has(m.metric)) continue;
    // Where every call either fails or succeeds, a worse success rate repeats the error rate.
    if (m.metric === 'success-rate' && errorRateWorse) continue;
    const isRate = m.metric === 'error-rate' || m.metric === 'success-rate';
    const isQuantile = m.metric === 'p50-latency' || m.metric === 'p95-latency';
    const fmt = isRate
      ? signedPoints
      : isQuantile
        ? signedMs
        : (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(3)}`;
    const span = `always-valid interval ${bound(m.interval[0], fmt)} to ${bound(m.interval[1], fmt)}`;
    const what = isRate
      ? `${m.metric.replace('-', ' ')} ${points(m.treatment ?? 0)} vs control ${points(m.control ?? 0)}`
      : isQuantile
        ? `${m.metric.replace('-latency', '')} latency ${ms(m.treatment ?? 0)} vs control ${ms(m.control ?? 0)}`
        : `calls slower than control's with probability ${(m.treatment ?? 0).toFixed(3)}`;
    out.push({
      type: 'treatment-worse',
      severity,
      metric: m.metric,
      value: m.effect,
      threshold: 0,
      ...(m.control === null ? {} : { control: m.control }),
      interval: [m.interval[0] ?? Number.NEGATIVE_INFINITY, m.interval[1] ?? Number.POSITIVE_INFINITY],
      calls: c.treatment.calls,
      controlCalls: c.control.calls,
      conclusive: true,
      message: `treatment worse than control: ${what} (${fmt(m.effect)}, ${span}) over ${sizes}`,
    });
  }
  return out;
}

/** The `sample-ratio-mismatch` finding of a broken split. */
export function mismatchFinding(check: SampleRatioSummary, between: string): Finding {
  // Name the arm furthest from its expected share.
  let arm = '?';
  let share = 0;
  let expected = 0;
  for (const [name, observed] of Object.entries(check.observedShares)) {
    const want = check.expectedShares[name] ?? 0;
    if (arm === '?' || Math.abs(observed - want) > Math.abs(share - expected)) {
      arm = name;
      share = observed;
      expected = want;
    }
  }
  const total = Object.values(check.users).reduce((a, b) => a + b, 0);
  return {
    type: 'sample-ratio-mismatch',
    severity: 'warning',
    value: share,
    threshold: expected,
    calls: total,
    conclusive: true,
    message: `sample ratio mismatch between ${between}: ${arm} has ${points(share)} of about ${total} users, expected ${points(expected)} (p = ${check.pValue.toExponential(1)}); do not trust the comparison until the cause is found`,
  };
}

/** The `sample-ratio-mismatch` warning of a skew in calls while the split of users looks fine. */
export function callMismatchFinding(check: CallRatioSummary): Finding {
  const total = Object.values(check.calls).reduce((a, b) => a + b, 0);
  const share = check.observedShares.treatment ?? 0;
  const expected = check.expectedShares.treatment ?? 0;
  return {
    type: 'sample-ratio-mismatch',
    severity: 'warning',
    value: share,
    threshold: expected,
    calls: total,
    conclusive: true,
    message: `sample ratio mismatch in calls between treatment and control: treatment has ${points(share)} of ${total} calls, expected ${points(expected)} (p = ${check.pValue.toExponential(1)}); the split of users looks fine, so check what changes how often users call (retries, errors, caching)`,
  };
}
