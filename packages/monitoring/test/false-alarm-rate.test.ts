import type { ExperimentsConfig, FeatureRecord, MetricBucket } from '@canary-rollout/core';
import { latencyBin } from '@canary-rollout/core/monitor-kit';
import { emptyMetricBucket } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { judgeComparison } from '../src/internal/comparison';
import type { ArmTotals } from '../src/internal/cumulative';
import { normal, type Random, seededRandom } from './synthetic';

const settings: ExperimentsConfig = {
  comparison: 'rollback',
  metrics: ['error-rate', 'success-rate'],
  alpha: 0.05,
  minSamples: 100,
  sampleRatioAlpha: 0.001,
};
const everyMetric: ExperimentsConfig = {
  ...settings,
  metrics: ['error-rate', 'success-rate', 'latency', 'p50-latency', 'p95-latency'],
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

/** Adds `calls` calls failing with probability `errorRate`, latencies log-normal around `medianMs`. */
function addCalls(
  arm: MetricBucket,
  random: Random,
  calls: number,
  errorRate: number,
  medianMs: number,
): void {
  for (let i = 0; i < calls; i++) {
    const failed = random() < errorRate;
    arm.calls++;
    if (failed) arm.failures++;
    else arm.successes++;
    const bin = latencyBin(medianMs * Math.exp(0.5 * normal(random)));
    arm.histogram[bin] = (arm.histogram[bin] ?? 0) + 1;
    arm.latencyCount++;
  }
}

/**
 * One simulated stage: `looks` ticks of `perLook` calls per arm, judged at every tick as the monitor
 * does, until the first `worse` (what the monitor acts on). Returns the first tick of each verdict.
 */
function simulate(
  settings: ExperimentsConfig,
  seed: number,
  looks: number,
  perLook: number,
  treatment: { errorRate: number; medianMs: number },
  control: { errorRate: number; medianMs: number },
): { worse: number | null; better: number | null } {
  const random = seededRandom(seed);
  const t = emptyMetricBucket(record.name, 'treatment', 0);
  const c = emptyMetricBucket(record.name, 'control', 0);
  const arms: ArmTotals = new Map([
    ['treatment', t],
    ['control', c],
  ]);
  let better: number | null = null;
  for (let tick = 1; tick <= looks; tick++) {
    addCalls(t, random, perLook, treatment.errorRate, treatment.medianMs);
    addCalls(c, random, perLook, control.errorRate, control.medianMs);
    const verdict = judgeComparison(record, arms, settings, undefined)?.comparison.verdict;
    if (verdict === 'worse') return { worse: tick, better };
    if (verdict === 'better' && better === null) better = tick;
  }
  return { worse: null, better };
}

describe('false alarms and detection of the comparison the monitor runs', () => {
  it.each([
    ['error and success rates (the default)', settings],
    ['every metric, latency too', everyMetric],
  ])(
    'flags an equal treatment in no more of 200 stages of 300 looks than alpha = 0.05 allows, counting %s',
    (_, which) => {
      const same = { errorRate: 0.02, medianMs: 800 };
      let worse = 0;
      let better = 0;
      for (let run = 0; run < 200; run++) {
        const found = simulate(which, 1000 + run, 300, 20, same, same);
        if (found.worse !== null) worse++;
        if (found.better !== null) better++;
      }
      // 'worse' (acted on) and 'better' (a report) are each tested at alpha: with a true rate of
      // 5 %, 19 or more of 200 happens less than 1 time in 100.
      expect(worse).toBeLessThan(19);
      expect(better).toBeLessThan(19);
    },
    // 60,000 judged looks: seconds alone, longer on a machine shared with other work.
    90_000,
  );

  it('flags a treatment at 3 % errors against 1 % in every stage, after about 1,000 calls per arm', () => {
    const ticks: number[] = [];
    for (let run = 0; run < 20; run++) {
      const found = simulate(
        settings,
        5000 + run,
        400,
        20,
        { errorRate: 0.03, medianMs: 800 },
        { errorRate: 0.01, medianMs: 800 },
      );
      expect(found.worse).not.toBe(null);
      ticks.push(found.worse!);
    }
    ticks.sort((a, b) => a - b);
    const median = ticks[ticks.length / 2]!;
    expect(median * 20).toBeGreaterThan(500);
    expect(median * 20).toBeLessThan(2_500);
  });
});
