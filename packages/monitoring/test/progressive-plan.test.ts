import {
  type CanaryConfigInput,
  type CanaryRolloutService,
  type ExperimentsConfig,
  ManualClock,
} from '@canary-rollout/core';
import { bucketOf, percentageToThreshold } from '@canary-rollout/core/experiments';
import { createMemoryStoreData } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { of, setup, T0 } from './helpers';
import { type Random, runCalls, seededRandom } from './synthetic';

const MINUTE = 60_000;
const STEPS = [1, 5, 10, 25, 50, 100];
const plan = (onCritical: 'rollback' | 'step-down' = 'rollback') => ({
  steps: STEPS.map((percentage) => ({ percentage, minDurationMs: 10 * MINUTE, minSamples: 100 })),
  onCritical,
});
const config = (
  options: { onCritical?: 'rollback' | 'step-down'; comparison?: ExperimentsConfig['comparison'] } = {},
): CanaryConfigInput => ({
  canaryRollout: {
    features: { aiExtraction: { enabled: true, plan: plan(options.onCritical) } },
    experiments: { comparison: options.comparison ?? 'hold' },
    // About 75 treatment calls per 5-minute window in these tests.
    thresholds: { minSampleSize: 50 },
  },
});

// Users sorted by bucket: at T buckets, the first ids up to bucket 2T are the treatment and control.
const pool = Array.from({ length: 20_000 }, (_, i) => `account-${i}`)
  .map((id) => ({ id, bucket: bucketOf('aiExtraction', id) }))
  .sort((a, b) => a.bucket - b.bucket);

/** About `perArm` calls per arm through runFeature, from treatment and control users at the current step. */
async function traffic(rollout: CanaryRolloutService, random: Random, perArm: number, errorRate = 0) {
  const threshold = percentageToThreshold(rollout.getFeature('aiExtraction')!.rolloutPercentage);
  const end = pool.findIndex((u) => u.bucket >= 2 * threshold);
  const users = pool.slice(0, end < 0 ? pool.length : end).map((u) => u.id);
  if (users.length === 0) return;
  const rates = { treatmentErrorRate: errorRate, controlErrorRate: 0 };
  await runCalls(rollout, 'aiExtraction', users, threshold >= 5000 ? perArm : 2 * perArm, random, rates);
}

type Env = Awaited<ReturnType<typeof setup>>;

/** One minute: traffic in every process, then a tick of every monitor (at once). */
async function minute(envs: Env[], random: Random, errorRate = 0) {
  envs[0]!.clock.advance(MINUTE);
  for (const env of envs) await traffic(env.rollout, random, 15, errorRate);
  await Promise.all(envs.map((env) => env.monitor.tick()));
}

describe('progressive plans driven by the monitor', () => {
  it('walks 1 -> 5 -> 10 -> 25 -> 50 -> 100 when healthy, each step after its duration, and completes', async () => {
    const env = await setup(config());
    const random = seededRandom(1);
    expect(env.rollout.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'running',
      rolloutPercentage: 1,
    });
    let minutes = 0;
    while (env.rollout.getPlanStatus('aiExtraction')!.status === 'running' && minutes < 120) {
      await minute([env], random);
      minutes++;
      if (minutes === 9) expect(of(env.events, 'plan')).toEqual([]); // 10 minutes per step at least
    }
    const moves = of(env.events, 'plan');
    expect(moves.map((m) => [m.move, m.fromPercentage, m.toPercentage, m.status])).toEqual([
      ['advance', 1, 5, 'running'],
      ['advance', 5, 10, 'running'],
      ['advance', 10, 25, 'running'],
      ['advance', 25, 50, 'running'],
      ['advance', 50, 100, 'completed'],
    ]);
    expect(of(env.events, 'rollout-changed').map((c) => c.current.rolloutPercentage)).toEqual([
      5, 10, 25, 50, 100,
    ]);
    expect(minutes).toBeGreaterThanOrEqual(50);
    expect(minutes).toBeLessThan(70);
    expect(env.rollout.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'completed',
      stepIndex: 5,
      rolloutPercentage: 100,
    });
    expect(env.monitor.getStatus().features.aiExtraction!.plan).toMatchObject({
      status: 'completed',
      stepPercentage: 100,
    });
    const alerts = of(env.events, 'alert');
    expect(alerts).toEqual([]);
  });

  it('stops the plan with a rollback when a step fails (onCritical: rollback)', async () => {
    const env = await setup(config());
    const random = seededRandom(2);
    while (env.rollout.getFeature('aiExtraction')!.rolloutPercentage < 10) await minute([env], random);
    for (let i = 0; i < 15 && of(env.events, 'rollback').length === 0; i++) await minute([env], random, 0.12);
    expect(of(env.events, 'rollback')).toHaveLength(1);
    expect(env.rollout.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'stopped',
      reason: expect.stringMatching(/^rolled back at /),
      rolloutPercentage: 0,
    });
    for (let i = 0; i < 20; i++) await minute([env], random);
    expect(of(env.events, 'plan').map((m) => m.toPercentage)).toEqual([5, 10]);
    expect(env.monitor.getStatus().features.aiExtraction!.plan).toMatchObject({ status: 'stopped' });
  });

  it('steps down one step and pauses on a failing step (onCritical: step-down), until resumed', async () => {
    const env = await setup(config({ onCritical: 'step-down' }));
    const random = seededRandom(3);
    while (env.rollout.getFeature('aiExtraction')!.rolloutPercentage < 10) await minute([env], random);
    for (let i = 0; i < 15 && of(env.events, 'plan').length < 3; i++) await minute([env], random, 0.12);
    const down = of(env.events, 'plan')[2]!;
    expect(down).toMatchObject({ move: 'step-down', fromPercentage: 10, toPercentage: 5, status: 'paused' });
    expect(down.reason).toMatch(/^stepped down: error rate \d+\.\d % > 5\.0 %/);
    expect(of(env.events, 'rollback')).toEqual([]);
    expect(
      of(env.events, 'rollout-changed')
        .map((c) => c.current.rolloutPercentage)
        .slice(-1),
    ).toEqual([5]);
    expect(env.rollout.getPlanStatus('aiExtraction')).toMatchObject({ status: 'paused', stepIndex: 1 });
    for (let i = 0; i < 15; i++) await minute([env], random);
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(5); // paused: no climb back
    // The step at 5 % has run healthy while paused: it goes on right after the resume.
    await env.rollout.resumePlan('aiExtraction');
    await minute([env], random);
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(10);
  });

  it('holds a paused plan, moves on skip, and advances again after resume', async () => {
    const env = await setup(config());
    const random = seededRandom(4);
    await env.rollout.pausePlan('aiExtraction');
    for (let i = 0; i < 15; i++) await minute([env], random);
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(1);
    expect(env.monitor.getStatus().features.aiExtraction!.plan).toMatchObject({
      status: 'paused',
      reason: 'paused by hand',
    });
    await env.rollout.skipPlanStep('aiExtraction');
    expect(env.rollout.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'paused',
      rolloutPercentage: 5,
    });
    await env.rollout.resumePlan('aiExtraction');
    for (let i = 0; i < 9; i++) await minute([env], random);
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(5);
    for (let i = 0; i < 3; i++) await minute([env], random);
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(10);
  });

  it('holds while the comparison is inconclusive under "hold", and on warnings', async () => {
    const env = await setup(config({ comparison: 'hold' }));
    // The app tracks the feature by hand and records no control group: nothing to compare with.
    for (let i = 0; i < 20; i++) {
      env.clock.advance(MINUTE);
      env.rollout.trackFeatureUsage('account-1', 'aiExtraction', { calls: 20, failedCalls: 0, latency: 200 });
      await env.monitor.tick();
    }
    expect(env.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(1);
    expect(env.monitor.getStatus().features.aiExtraction!.plan!.holding).toMatch(
      /^comparison with control inconclusive \(\d+ treatment \/ 0 control calls; 100 each needed\)$/,
    );

    const other = await setup(config({ comparison: 'alert' }));
    for (let i = 0; i < 20; i++) {
      other.clock.advance(MINUTE);
      // p95 above the 5 s latency warning: a warning holds the plan.
      other.rollout.trackFeatureUsage('account-1', 'aiExtraction', {
        calls: 20,
        failedCalls: 0,
        latency: 6000,
      });
      await other.monitor.tick();
    }
    expect(other.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(1);
    expect(other.monitor.getStatus().features.aiExtraction!.plan!.holding).toMatch(/^warning: p95 latency/);
  });

  it('continues after a restart: a new service and monitor over the same store pick the plan up', async () => {
    const data = createMemoryStoreData();
    const clock = new ManualClock(T0);
    const random = seededRandom(5);
    const first = await setup(config(), { data, clock });
    while (first.rollout.getFeature('aiExtraction')!.rolloutPercentage < 10) await minute([first], random);
    await first.monitor.stop();
    await first.rollout.close();

    const second = await setup(config(), { data, clock });
    expect(second.rollout.getPlanStatus('aiExtraction')).toMatchObject({ status: 'running', stepIndex: 2 });
    let minutes = 0;
    while (second.rollout.getPlanStatus('aiExtraction')!.status === 'running' && minutes < 80) {
      await minute([second], random);
      minutes++;
    }
    expect(of(second.events, 'plan').map((m) => m.toPercentage)).toEqual([25, 50, 100]);
    expect(second.rollout.getPlanStatus('aiExtraction')!.status).toBe('completed');
  });

  it('is driven once by two monitors over one store', async () => {
    const data = createMemoryStoreData();
    const clock = new ManualClock(T0);
    const random = seededRandom(6);
    const a = await setup(config(), { data, clock });
    const b = await setup(config(), { data, clock });
    let minutes = 0;
    while (a.rollout.getPlanStatus('aiExtraction')!.status === 'running' && minutes < 120) {
      await minute([a, b], random);
      await Promise.all([a.rollout.refresh(), b.rollout.refresh()]);
      minutes++;
    }
    const moves = [...of(a.events, 'plan'), ...of(b.events, 'plan')];
    expect(moves.map((m) => m.toPercentage).sort((x, y) => x - y)).toEqual([5, 10, 25, 50, 100]);
    // Each process sees every move once.
    for (const env of [a, b]) {
      expect(of(env.events, 'rollout-changed').map((c) => c.current.rolloutPercentage)).toEqual([
        5, 10, 25, 50, 100,
      ]);
    }
    expect(await a.store.listRollbacks()).toEqual([]);
    expect(b.rollout.getPlanStatus('aiExtraction')!.status).toBe('completed');
  });
});
