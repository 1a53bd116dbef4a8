import {
  type CanaryConfigInput,
  CanaryRolloutService,
  type FeatureRecord,
  ManualClock,
  MemoryStore,
  RolloutGuardError,
} from '@canary-rollout/core';
import { raiseAllowance, readHealthMarks, withHealthMark } from '@canary-rollout/core/monitor-kit';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const services: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function make(feature: Record<string, unknown>, thresholds: Record<string, unknown> = {}) {
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  const config = {
    canaryRollout: {
      features: { aiExtraction: { enabled: true, rolloutStrategy: 'gradual', ...feature } },
      thresholds,
    },
  } as CanaryConfigInput;
  const service = await CanaryRolloutService.create({ clock, store, config });
  services.push(service);
  return { clock, store, service };
}

/** Writes a health mark as a monitor does: compare-and-set on the stored record. */
async function mark(service: CanaryRolloutService, healthy: boolean, at: number): Promise<void> {
  const record = service.getFeature('aiExtraction')!;
  const next = withHealthMark(record, healthy, at);
  if (next !== null) await service.store.putFeature(next, record.version);
  await service.refresh();
}

async function refusal(promise: Promise<unknown>): Promise<RolloutGuardError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RolloutGuardError);
  return error as RolloutGuardError;
}

describe('minStableTime: healthy for this long at the current percentage', () => {
  it('refuses a raise while the feature is unhealthy, saying when it becomes allowed at the earliest', async () => {
    const { clock, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    clock.advance(2 * DAY);
    await mark(service, false, clock.now());
    const error = await refusal(service.updateRolloutPercentage('aiExtraction', 20));
    expect(error.code).toBe('ROLLOUT_GUARD');
    expect(error.message).toContain('unhealthy since');
    expect(error.allowedAt).toBe(clock.now() + DAY);
    expect(service.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBe(clock.now() + DAY);
  });

  it('counts the stable time from the recovery, not from the stage start', async () => {
    const { clock, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    clock.advance(2 * HOUR);
    await mark(service, false, clock.now());
    clock.advance(HOUR);
    const recovered = clock.now();
    await mark(service, true, recovered);
    expect(readHealthMarks(service.getFeature('aiExtraction')!)).toEqual({
      healthySince: recovered,
      unhealthySince: undefined,
    });
    clock.set(T0 + DAY + HOUR); // a day after the stage began, not after the recovery
    const error = await refusal(service.updateRolloutPercentage('aiExtraction', 20));
    expect(error.allowedAt).toBe(recovered + DAY);
    expect(error.message).toContain(new Date(recovered + DAY).toISOString());
    expect(service.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBe(recovered + DAY);
    clock.set(recovered + DAY);
    await service.updateRolloutPercentage('aiExtraction', 20);
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(20);
  });

  it('ignores marks from an earlier stage: a new percentage starts its own stable time', async () => {
    const { clock, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    await mark(service, false, clock.now());
    clock.advance(HOUR);
    await service.updateRolloutPercentage('aiExtraction', 5); // lowering is always allowed
    const stage = clock.now();
    expect(raiseAllowance(service.getFeature('aiExtraction')!, DAY, stage)).toEqual({
      allowedAt: stage + DAY,
      healthySince: stage,
    });
  });

  it('allows a raise from 0, a forced raise, lowering and rollback at any time', async () => {
    const { clock, service } = await make({ rolloutPercentage: 0, minStableTime: DAY, maxStep: 10 });
    await service.updateRolloutPercentage('aiExtraction', 10);
    await mark(service, false, clock.now());
    await refusal(service.updateRolloutPercentage('aiExtraction', 15));
    await service.updateRolloutPercentage('aiExtraction', 15, { force: true });
    await service.updateRolloutPercentage('aiExtraction', 5);
    const record = await service.rollback('aiExtraction', 'bad figures');
    expect(record?.previous.rolloutPercentage).toBe(5);
    await service.updateRolloutPercentage('aiExtraction', 10); // from 0 again
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(10);
  });

  it('is off unless configured: marks alone do not guard anything', async () => {
    const { clock, service } = await make({ rolloutPercentage: 10 });
    await mark(service, false, clock.now());
    await service.updateRolloutPercentage('aiExtraction', 100);
    expect(service.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBeNull();
  });

  it('applies the global minStableTime and maxStep where the feature sets none', async () => {
    const { service } = await make({ rolloutPercentage: 10 }, { minStableTime: HOUR, maxStep: 20 });
    const step = await refusal(service.updateRolloutPercentage('aiExtraction', 50, {}));
    expect(step.message).toContain('exceeds maxStep 20');
    expect(step.allowedAt).toBeUndefined();
    const time = await refusal(service.updateRolloutPercentage('aiExtraction', 20));
    expect(time.allowedAt).toBe(T0 + HOUR);
  });
});

describe('withHealthMark', () => {
  const base: FeatureRecord = {
    name: 'aiExtraction',
    enabled: true,
    rolloutPercentage: 10,
    rolloutStrategy: 'gradual',
    salt: 'aiExtraction',
    version: 3,
    updatedAt: T0,
    stageStartedAt: T0,
  };

  it('writes only transitions and leaves the rollout fields and updatedAt alone', () => {
    expect(withHealthMark(base, true, T0 + 1)).toBeNull();
    const unhealthy = withHealthMark(base, false, T0 + 1)!;
    expect(unhealthy).toEqual({ ...omitVersion(base), unhealthySince: T0 + 1 });
    const stored = { ...unhealthy, version: 4 } as FeatureRecord;
    expect(withHealthMark(stored, false, T0 + 2)).toBeNull();
    expect(withHealthMark(stored, true, T0 + 3)).toEqual({ ...omitVersion(base), healthySince: T0 + 3 });
  });
});

function omitVersion(record: FeatureRecord) {
  const { version: _version, ...rest } = record;
  return rest;
}
