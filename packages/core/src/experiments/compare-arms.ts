import type { MetricBucket } from '../schemas/records';
import { compareLatency, type LatencyComparison } from './latency';
import type { ComparisonOptions, ComparisonVerdict } from './options';
import { compareErrorRates, compareSuccessRates, type RateComparison } from './rates';

/** Every comparison of two arms' merged metrics. */
export interface ArmComparison {
  readonly errorRate: RateComparison;
  readonly successRate: RateComparison;
  readonly latency: LatencyComparison;
  /**
   * 'worse' when any of error rate, success rate, overall latency, p50 or p95 is worse; else
   * 'better' when one is better; else 'inconclusive' when the error rate is; else no difference.
   */
  readonly verdict: ComparisonVerdict;
}

/**
 * Compares the merged metrics of a treatment arm (or a variant) against a control arm (or
 * another variant): buckets merged over the same period, e.g. since the current stage began.
 * Each metric is tested one-sided: 'worse' (what a monitor acts on) and 'better' (a report) each
 * at alpha. Where every call failed or succeeded the success rate is one minus the error rate and
 * gets the same verdict (one test, not two), so the chance that some metric is wrongly called
 * worse is at most 4 x alpha (5 x otherwise); pass a smaller alpha when acting on `verdict` alone.
 */
export function compareArms(
  treatment: MetricBucket,
  control: MetricBucket,
  options: ComparisonOptions = {},
): ArmComparison {
  const errorRate = compareErrorRates(treatment, control, options);
  const successRate = compareSuccessRates(treatment, control, options);
  const latency = compareLatency(treatment.histogram, control.histogram, options);
  const verdicts = [
    errorRate.verdict,
    successRate.verdict,
    latency.verdict,
    latency.p50.verdict,
    latency.p95.verdict,
  ];
  let verdict: ComparisonVerdict =
    errorRate.verdict === 'inconclusive' ? 'inconclusive' : 'no-detectable-difference';
  if (verdicts.includes('worse')) verdict = 'worse';
  else if (verdicts.includes('better')) verdict = 'better';
  return { errorRate, successRate, latency, verdict };
}
