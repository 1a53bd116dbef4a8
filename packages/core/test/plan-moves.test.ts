import {
  type CanaryConfigInput,
  CanaryRolloutService,
  InvalidArgumentError,
  ManualClock,
  MemoryStore,
  NotFoundError,
  RolloutGuardError,
} from '@canary-rollout/core';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const HOUR = 3_600_000;
const steps = [1, 5, 10, 25, 50, 100].map((percentage) => ({ percentage, minDurationMs: HOUR }));
const config = (extra: Record<string, unknown> = {}): CanaryConfigInput => ({
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, plan: { steps }, ...extra },
      ocrFallback: { enabled: true, rolloutPercentage: 30 },
    },
  },
});
const services: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});
async function make(options: { store?: MemoryStore; clock?: ManualClock; config?: CanaryConfigInput } = {}) {
  const service = await CanaryRolloutService.create({
    clock: options.clock ?? new ManualClock(T0),
    config: options.config ?? config(),
    store: options.store ?? new MemoryStore(),
  });
  services.push(service);
  return service;
}

describe('progressive plans in core', () => {
  it('starts a feature created with a plan at its first step, running', async () => {
    const service = await make();
    expect(service.getFeature('aiExtraction')).toMatchObject({
      rolloutPercentage: 1,
      plan: { status: 'running', stepIndex: 0, stepStartedAt: T0 },
    });
    expect(service.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'running',
      reason: null,
      started: true,
      stepIndex: 0,
      rolloutPercentage: 1,
      nextStepAt: T0 + HOUR,
      nextPercentage: 5,
      onCritical: 'rollback',
    });
    expect(service.getPlanStatus('ocrFallback')).toBeNull();
    await expect(service.pausePlan('ocrFallback')).rejects.toThrow(NotFoundError);
  });

  it('pauses, resumes and skips through compare-and-set, and completes at the last step', async () => {
    const clock = new ManualClock(T0);
    const service = await make({ clock });
    clock.advance(60_000);
    expect(await service.pausePlan('aiExtraction', 'waiting for the finance team')).toMatchObject({
      status: 'paused',
      reason: 'waiting for the finance team',
      nextStepAt: null,
    });
    const version = service.getFeature('aiExtraction')!.version;
    expect((await service.pausePlan('aiExtraction')).status).toBe('paused');
    expect(service.getFeature('aiExtraction')!.version).toBe(version); // nothing to do, nothing written

    // Skipping a paused plan moves it and keeps it paused.
    expect(await service.skipPlanStep('aiExtraction')).toMatchObject({ status: 'paused', stepIndex: 1 });
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(5);
    expect(await service.resumePlan('aiExtraction')).toMatchObject({
      status: 'running',
      reason: null,
      stepIndex: 1,
      stepStartedAt: T0 + 60_000,
      nextStepAt: T0 + 60_000 + HOUR,
    });
    for (const expected of [10, 25, 50]) {
      expect((await service.skipPlanStep('aiExtraction')).rolloutPercentage).toBe(expected);
    }
    expect(await service.skipPlanStep('aiExtraction')).toMatchObject({
      status: 'completed',
      stepIndex: 5,
      rolloutPercentage: 100,
      nextPercentage: null,
      nextStepAt: null,
    });
    await expect(service.skipPlanStep('aiExtraction')).rejects.toThrow(
      /plan of "aiExtraction": completed: no step left/,
    );
    expect((await service.resumePlan('aiExtraction')).status).toBe('completed');
  });

  it('is stopped by a rollback, and resume starts it again from the first step', async () => {
    const clock = new ManualClock(T0);
    const service = await make({ clock });
    await service.skipPlanStep('aiExtraction');
    await service.rollback('aiExtraction', 'manual rollback');
    expect(service.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'stopped',
      reason: expect.stringMatching(/^rolled back at 2026-01-05T12:00:00\.000Z; resume to start again$/),
      rolloutPercentage: 0,
    });
    await expect(service.skipPlanStep('aiExtraction')).rejects.toThrow(InvalidArgumentError);
    expect(await service.resumePlan('aiExtraction')).toMatchObject({
      status: 'running',
      stepIndex: 0,
      rolloutPercentage: 1,
    });
  });

  it('pauses itself while the feature is changed by hand, and resume rejoins without moving users', async () => {
    const service = await make();
    await service.updateRolloutPercentage('aiExtraction', 7);
    expect(service.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'paused',
      reason: 'the percentage (7 %) was changed outside the plan (step 1 is 1 %); resume to rejoin it',
    });
    expect(await service.resumePlan('aiExtraction')).toMatchObject({
      status: 'running',
      stepIndex: 1,
      rolloutPercentage: 7,
      nextPercentage: 10,
    });
    await service.disableFeature('aiExtraction');
    expect(service.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'paused',
      reason: 'the feature is disabled',
    });
    await expect(service.resumePlan('aiExtraction')).rejects.toThrow(/disabled; enable it first/);
    await service.enableFeature('aiExtraction');
    expect(service.getPlanStatus('aiExtraction')!.status).toBe('running');
  });

  it('applies the raise guards to skip and resume unless forced', async () => {
    const clock = new ManualClock(T0);
    const service = await make({ clock, config: config({ minStableTime: 2 * HOUR }) });
    await expect(service.skipPlanStep('aiExtraction')).rejects.toThrow(RolloutGuardError);
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(1);
    expect((await service.skipPlanStep('aiExtraction', { force: true })).rolloutPercentage).toBe(5);
    clock.advance(2 * HOUR);
    expect((await service.skipPlanStep('aiExtraction')).rolloutPercentage).toBe(10);
  });

  it('moves once when two processes move on the version they judged', async () => {
    const store = new MemoryStore();
    const a = await make({ store });
    const b = await make({ store });
    const judged = a.getFeature('aiExtraction')!.version;
    const [first, second] = await Promise.all([
      a.movePlan('aiExtraction', 'advance', { expectedVersion: judged }),
      b.movePlan('aiExtraction', 'advance', { expectedVersion: judged }),
    ]);
    expect([first, second].filter((r) => r !== undefined)).toHaveLength(1);
    await a.refresh();
    expect(a.getPlanStatus('aiExtraction')).toMatchObject({ stepIndex: 1, rolloutPercentage: 5 });
    // A stale version moves nothing.
    expect(await a.movePlan('aiExtraction', 'advance', { expectedVersion: judged })).toBeUndefined();
    expect(a.getFeature('aiExtraction')!.rolloutPercentage).toBe(5);
  });

  it('keeps its place over a restart: the store, not the file, holds the plan state', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const first = await make({ store, clock });
    await first.skipPlanStep('aiExtraction');
    await first.skipPlanStep('aiExtraction');
    await first.close();
    clock.advance(HOUR);
    const second = await make({ store, clock });
    expect(second.getPlanStatus('aiExtraction')).toMatchObject({
      status: 'running',
      stepIndex: 2,
      rolloutPercentage: 10,
      stepStartedAt: T0,
    });
  });

  it('steps down one step and pauses, so the plan does not climb straight back', async () => {
    const service = await make();
    await service.skipPlanStep('aiExtraction');
    await service.skipPlanStep('aiExtraction');
    const status = await service.movePlan('aiExtraction', 'step-down', {
      reason: 'error rate 8 % > 5 % at 10 %',
    });
    expect(status).toMatchObject({
      status: 'paused',
      reason: 'error rate 8 % > 5 % at 10 %',
      stepIndex: 1,
      rolloutPercentage: 5,
    });
    // The monitor's advance does nothing to a paused plan.
    expect((await service.movePlan('aiExtraction', 'advance'))!.rolloutPercentage).toBe(5);
  });
});
