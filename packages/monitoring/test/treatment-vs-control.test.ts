import type { CanaryConfigInput, ExperimentsConfig } from '@canary-rollout/core';
import { isOffForEveryone } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { of, setup } from './helpers';
import { runCalls, seededRandom, usersByArm } from './synthetic';

const TICK = 30_000;
const config = (comparison: ExperimentsConfig['comparison']): CanaryConfigInput => ({
  canaryRollout: {
    features: { aiExtraction: { enabled: true, rolloutPercentage: 10 } },
    experiments: { comparison },
  },
});
const users = usersByArm('aiExtraction', 10, 20_000);

/**
 * Ticks with 100 calls per arm per 30 s through `runFeature`, the treatment failing 3 % of calls
 * and the old path 1 %, until `done` or 400 ticks. Returns the ticks run. (With fewer calls, a
 * 5-minute window of a 3 % feature crosses the fixed 5 % threshold by chance now and then.)
 */
async function ticksUntil(
  env: Awaited<ReturnType<typeof setup>>,
  done: () => boolean,
  rates = { treatmentErrorRate: 0.03, controlErrorRate: 0.01 },
  seed = 7,
): Promise<number> {
  const random = seededRandom(seed);
  for (let tick = 1; tick <= 400; tick++) {
    env.clock.advance(TICK);
    await runCalls(env.rollout, 'aiExtraction', users.treatment, 100, random, rates);
    await runCalls(env.rollout, 'aiExtraction', users.control, 100, random, rates);
    await runCalls(env.rollout, 'aiExtraction', users.outside, 20, random, rates);
    await env.monitor.tick();
    if (done()) return tick;
  }
  return Number.POSITIVE_INFINITY;
}

describe('treatment against control in the monitor', () => {
  it('rolls back a treatment 2 points worse than control long before a 5 % threshold would fire', async () => {
    const env = await setup(config('rollback'));
    const { rollout, events } = env;
    const ticks = await ticksUntil(env, () => of(events, 'rollback').length > 0);
    // 3 % against 1 %: about 1,000 calls per arm; the 5 % threshold never fires.
    expect(ticks).toBeLessThan(30);
    const [rollback] = of(events, 'rollback');
    expect(rollback).toMatchObject({ feature: 'aiExtraction', cause: 'treatment-worse' });
    expect(rollback!.reason).toMatch(
      /^automatic rollback: treatment worse than control: error rate \d\.\d % vs control \d\.\d % \(\+\d\.\d pts, always-valid interval \+\d\.\d pts to \+\d\.\d pts\) over \d+ treatment \/ \d+ control calls/,
    );
    expect(rollback!.figures).toMatchObject({
      effect: expect.any(Number),
      effectLow: expect.any(Number),
      effectHigh: expect.any(Number),
      treatmentCalls: expect.any(Number),
      controlCalls: expect.any(Number),
    });
    expect(rollback!.figures.effectLow).toBeGreaterThan(0);
    expect(rollback!.record.figures).toEqual(rollback!.figures);
    expect(isOffForEveryone(rollout.getFeature('aiExtraction')!, 0)).toBe(true);

    const alerts = of(events, 'alert').filter((a) => !a.resolved);
    expect(alerts.map((a) => [a.level, a.type])).toEqual([['critical', 'treatment-worse']]);
    const finding = alerts[0]!.findings[0]!;
    expect(finding).toMatchObject({ type: 'treatment-worse', metric: 'error-rate', threshold: 0 });
    expect(finding.value).toBeGreaterThan(0.005);
    expect(finding.interval![0]).toBeGreaterThan(0);
    expect(finding.controlCalls).toBeGreaterThan(500);
    // No fixed threshold was crossed on the way.
    const found = of(events, 'health').flatMap((r) => r.features.aiExtraction!.findings.map((f) => f.type));
    expect(found).not.toContain('high-error-rate');
    expect(await env.store.listRollbacks('aiExtraction')).toHaveLength(1);
  });

  it('only alerts under comparison "alert", and reports the verdict in the health report and status', async () => {
    const env = await setup(config('alert'));
    const worse = () => of(env.events, 'alert').filter((a) => a.type === 'treatment-worse');
    const ticks = await ticksUntil(env, () => worse().length > 0);
    expect(ticks).toBeLessThan(30);
    const [alert] = worse();
    expect(alert).toMatchObject({ level: 'warning', type: 'treatment-worse', rollbackRequired: false });
    expect(of(env.events, 'rollback')).toEqual([]);
    const status = env.monitor.getStatus().features.aiExtraction!;
    expect(status.comparison).toMatchObject({
      verdict: 'worse',
      treatmentVsControl: { treatment: { arm: 'treatment' }, control: { arm: 'control' } },
      sampleRatio: { mismatch: false, sufficient: true },
    });
    const errorRate = status.comparison!.treatmentVsControl!.metrics[0]!;
    expect(errorRate).toMatchObject({ metric: 'error-rate', verdict: 'worse' });
    expect(errorRate.treatment! - errorRate.control!).toBeCloseTo(errorRate.effect!, 10);
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(10);
  });

  it('does not flag an equal treatment over a long stage', async () => {
    const env = await setup(config('rollback'));
    const start = env.clock.now();
    const equal = { treatmentErrorRate: 0.02, controlErrorRate: 0.02 };
    await ticksUntil(env, () => env.clock.now() >= start + 60 * TICK, equal, 11);
    // (The thresholds' degradation warnings come and go with the noise of 5-minute windows.)
    const types = of(env.events, 'alert').map((a) => a.findings.map((f) => f.type));
    expect(types.flat().filter((t) => t === 'treatment-worse' || t === 'sample-ratio-mismatch')).toEqual([]);
    const last = env.monitor.getStatus().features.aiExtraction!.comparison!;
    expect(last.verdict).toBe('no-detectable-difference');
    expect(last.treatmentVsControl!.control.calls).toBe(6_000);
  });

  it('flags a broken split with a sample-ratio mismatch and does not act on the comparison', async () => {
    const env = await setup(config('rollback'));
    const random = seededRandom(3);
    const rates = { treatmentErrorRate: 0.05, controlErrorRate: 0 };
    // A fair split first: every user of both arms comes once.
    for (const id of [...users.treatment.slice(0, 1000), ...users.control.slice(0, 1000)]) {
      await runCalls(env.rollout, 'aiExtraction', [id], 1, random, {
        treatmentErrorRate: 0,
        controlErrorRate: 0,
      });
    }
    env.clock.advance(TICK);
    await env.monitor.tick();
    expect(env.monitor.getStatus().features.aiExtraction!.comparison!.sampleRatio).toMatchObject({
      mismatch: false,
      sufficient: true,
    });
    // Then a bug: only every third new control user still reaches runFeature.
    for (const id of users.treatment) await runCalls(env.rollout, 'aiExtraction', [id], 1, random, rates);
    for (const id of users.control.filter((_, i) => i >= 1000 && i % 3 === 0)) {
      await runCalls(env.rollout, 'aiExtraction', [id], 1, random, rates);
    }
    env.clock.advance(TICK);
    const report = await env.monitor.tick();
    const comparison = report.features.aiExtraction!.comparison!;
    expect(comparison.sampleRatio).toMatchObject({ mismatch: true });
    expect(comparison.sampleRatio!.pValue).toBeLessThan(1e-6);
    expect(of(env.events, 'alert').map((a) => [a.level, a.type])).toEqual([
      ['warning', 'sample-ratio-mismatch'],
    ]);
    expect(of(env.events, 'alert')[0]!.message).toMatch(
      /sample ratio mismatch between treatment and control: (treatment|control) has \d+\.\d % of about \d+ users, expected 50\.0 %/,
    );
    // The treatment looks worse (5 % against 0 %), but a broken split is not trusted: no rollback.
    expect(comparison.verdict).toBe('worse');
    expect(of(env.events, 'rollback')).toEqual([]);
  });

  it('compares variants with the first one listed and reports their split', async () => {
    const env = await setup({
      canaryRollout: {
        features: {
          aiExtraction: {
            enabled: true,
            rolloutPercentage: 50,
            variants: [
              { name: 'gpt-extract', weight: 50 },
              { name: 'local-extract', weight: 50 },
            ],
          },
        },
        experiments: { comparison: 'alert' },
      },
    });
    const random = seededRandom(9);
    for (let tick = 0; tick < 10; tick++) {
      env.clock.advance(TICK);
      for (const id of users.treatment
        .concat(users.control, users.outside)
        .slice(tick * 300, tick * 300 + 300)) {
        await env.rollout.runFeature(id, 'aiExtraction', {
          // The local model fails 8 % of calls, the hosted one 1 %.
          enabled: (variant) => {
            if (random() < (variant === 'local-extract' ? 0.08 : 0.01)) throw new Error('extraction failed');
            return variant;
          },
          fallback: () => 'ocr',
        });
      }
      await env.monitor.tick();
    }
    const variants = env.monitor.getStatus().features.aiExtraction!.comparison!.variants!;
    expect(variants.baseline).toBe('gpt-extract');
    expect(variants.comparisons).toHaveLength(1);
    expect(variants.comparisons[0]).toMatchObject({
      verdict: 'worse',
      treatment: { arm: 'variant:local-extract' },
      control: { arm: 'variant:gpt-extract' },
    });
    expect(variants.sampleRatio).toMatchObject({ mismatch: false, sufficient: true });
    expect(variants.sampleRatio.expectedShares).toEqual({ 'gpt-extract': 0.5, 'local-extract': 0.5 });
  });
});
