import type { ExperimentsConfig, FeatureRecord, MetricBucket } from '@canary-rollout/core';
import { emptyMetricBucket } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { hllAdd, sparseRegisters } from '../../core/src/metrics/hyperloglog';
import { judgeComparison } from '../src/internal/comparison';

const settings: ExperimentsConfig = {
  comparison: 'rollback',
  metrics: ['error-rate', 'success-rate'],
  alpha: 0.05,
  minSamples: 100,
  sampleRatioAlpha: 0.001,
};
const record: FeatureRecord = {
  name: 'aiExtraction',
  enabled: true,
  rolloutPercentage: 10,
  rolloutStrategy: 'gradual',
  salt: 'aiExtraction',
  version: 3,
  updatedAt: 0,
  stageStartedAt: 0,
};

function users(prefix: string, count: number): MetricBucket['users'] {
  const registers = new Uint8Array(2048);
  for (let i = 0; i < count; i++) hllAdd(registers, `${prefix}-${i}`);
  return sparseRegisters(registers);
}

function arm(name: string, calls: number, failures: number, successes: number, who: MetricBucket['users']) {
  return { ...emptyMetricBucket(record.name, name, 0), calls, failures, successes, users: who };
}

describe('what the comparison in the monitor tests', () => {
  const treatmentUsers = users('t', 900);
  const controlUsers = users('c', 900);

  it('tests error and success rate once, at the full alpha, where every call failed or succeeded', () => {
    // 28 against 10 failures in 1,000 calls each: a one-sided likelihood ratio of about 30, above
    // 1 / 0.05 = 20 but below 1 / 0.025 = 40.
    const arms = new Map([
      ['treatment', arm('treatment', 1000, 28, 972, treatmentUsers)],
      ['control', arm('control', 1000, 10, 990, controlUsers)],
    ]);
    const outcome = judgeComparison(record, arms, settings, undefined)!;
    const metrics = outcome.comparison.treatmentVsControl!.metrics;
    expect(metrics.find((m) => m.metric === 'error-rate')!.pValue).toBeGreaterThan(1 / 40);
    expect(metrics.find((m) => m.metric === 'error-rate')!.pValue).toBeLessThan(1 / 20);
    expect(outcome.comparison.verdict).toBe('worse');
    expect(metrics.find((m) => m.metric === 'success-rate')!.verdict).toBe('worse');
    // One finding: the success rate repeats the error rate.
    expect(outcome.findings.map((f) => [f.type, f.metric])).toEqual([['treatment-worse', 'error-rate']]);
  });

  it('splits alpha between them where some calls neither failed nor succeeded', () => {
    const arms = new Map([
      ['treatment', arm('treatment', 1000, 28, 972, treatmentUsers)],
      ['control', arm('control', 1000, 10, 989, controlUsers)],
    ]);
    const outcome = judgeComparison(record, arms, settings, undefined)!;
    // Two tests now, each at alpha / 2: the same error counts are not enough.
    expect(outcome.comparison.verdict).toBe('no-detectable-difference');
    expect(outcome.findings).toEqual([]);
  });

  it('checks the split of calls exactly: a skew the user estimates hide warns, and a worse treatment is still acted on', () => {
    // 25,000 users in each arm (fair), ten calls each on average, but 52/48 of the calls.
    const many = { t: users('many-t', 25_000), c: users('many-c', 25_000) };
    const skewed = new Map([
      ['treatment', arm('treatment', 260_000, 7_800, 252_200, many.t)],
      ['control', arm('control', 240_000, 2_400, 237_600, many.c)],
    ]);
    const outcome = judgeComparison(record, skewed, settings, undefined)!;
    const split = outcome.comparison.sampleRatio!;
    expect(split.mismatch).toBe(false);
    expect(split.calls).toMatchObject({ mismatch: true, calls: { treatment: 260_000, control: 240_000 } });
    expect(split.calls!.dispersion).toBeGreaterThan(9);
    expect(split.calls!.dispersion).toBeLessThan(13);
    expect(outcome.findings.map((f) => [f.type, f.severity])).toEqual([
      ['treatment-worse', 'critical'],
      ['sample-ratio-mismatch', 'warning'],
    ]);
    expect(outcome.findings[1]!.message).toMatch(
      /^sample ratio mismatch in calls between treatment and control: treatment has 52\.0 % of 500000 calls, expected 50\.0 % \(p = /,
    );
    // The same calls split 50.2/49.8 are within what ten calls per user spread.
    const fair = new Map([
      ['treatment', arm('treatment', 251_000, 2_510, 248_490, many.t)],
      ['control', arm('control', 249_000, 2_490, 246_510, many.c)],
    ]);
    const calm = judgeComparison(record, fair, settings, undefined)!;
    expect(calm.comparison.sampleRatio!.calls!.mismatch).toBe(false);
    expect(calm.findings).toEqual([]);
  });
});
