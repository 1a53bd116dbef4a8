import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ArmComparison,
  CONTROL_ARM,
  type ComparisonVerdict,
  compareArms,
  VariantAssigner,
  variantArm,
} from '../src/experiments';
import { normal, seededRandom } from '../src/experiments/random';
import { TREATMENT_ARM } from '../src/metrics/aggregator';
import { latencyBin } from '../src/metrics/histogram';
import type { MetricBucket } from '../src/schemas/records';
import { emptyMetricBucket } from '../src/storage/metric-merge';

/** A merged bucket of synthetic calls with a given error rate and median latency. */
function bucket(arm: string, calls: number, failures: number, medianMs: number, seed: number): MetricBucket {
  const b = emptyMetricBucket('aiExtraction', arm, 0);
  const random = seededRandom(seed);
  const histogram: Record<string, number> = {};
  for (let i = 0; i < calls; i++) {
    const bin = latencyBin(medianMs * Math.exp(0.5 * normal(random)));
    histogram[bin] = (histogram[bin] ?? 0) + 1;
  }
  return { ...b, calls, failures, successes: calls - failures, latencyCount: calls, histogram };
}

describe('comparing two arms of merged metrics', () => {
  it('has typed results and arm names', () => {
    expectTypeOf(compareArms).returns.toEqualTypeOf<ArmComparison>();
    expectTypeOf<ArmComparison['verdict']>().toEqualTypeOf<ComparisonVerdict>();
    expect(CONTROL_ARM).toBe('control');
    expect(TREATMENT_ARM).toBe('treatment');
    expect(variantArm(new VariantAssigner('s', [{ name: 'a', weight: 1 }]).assign('u')!)).toBe('variant:a');
  });

  it('calls an arm worse when its error rate is, with every figure reported', () => {
    const r = compareArms(bucket(TREATMENT_ARM, 3000, 90, 800, 1), bucket(CONTROL_ARM, 3000, 30, 800, 2));
    expect(r.verdict).toBe('worse');
    expect(r.errorRate.verdict).toBe('worse');
    expect(r.successRate.verdict).toBe('worse');
    expect(r.latency.verdict).toBe('no-detectable-difference');
    expect(r.errorRate.effect).toBeCloseTo(0.02, 12);
    expect(r.latency.treatmentSamples).toBe(3000);
  });

  it('calls an arm worse when only its latency is', () => {
    const r = compareArms(bucket('variant:b', 3000, 30, 1200, 3), bucket('variant:a', 3000, 30, 800, 4));
    expect(r.errorRate.verdict).toBe('no-detectable-difference');
    expect(r.latency.verdict).toBe('worse');
    expect(r.latency.p50.verdict).toBe('worse');
    expect(r.latency.p50.effect!).toBeGreaterThan(300);
    expect(r.verdict).toBe('worse');
  });

  it('is inconclusive while an arm is small and finds nothing between equal arms', () => {
    expect(compareArms(bucket('treatment', 50, 5, 800, 5), bucket('control', 50, 0, 800, 6)).verdict).toBe(
      'inconclusive',
    );
    expect(
      compareArms(bucket('treatment', 3000, 30, 800, 7), bucket('control', 3000, 30, 800, 8)).verdict,
    ).toBe('no-detectable-difference');
  });
});
