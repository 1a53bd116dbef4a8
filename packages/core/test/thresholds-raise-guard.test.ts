import {
  type CanaryConfigInput,
  CanaryRolloutService,
  type FeatureRecord,
  ManualClock,
  MemoryStore,
  RolloutGuardError,
} from '@canary-rollout/core';
import {
  healthMarkKey,
  raiseAllowance,
  readHealthMarks,
  withHealthMark,
} from '@canary-rollout/core/monitor-kit';
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

/** The feature's health mark as the store holds it (a meta record), undefined when it has none. */
async function stored(service: CanaryRolloutService) {
  const key = healthMarkKey('aiExtraction');
  return (await service.store.readMeta(key)).find((m) => m.key === key);
}

/**
 * Writes a health mark as a monitor does: compare-and-set on the stored meta record. The flush
 * reads the fleet window, and the marks with it, as a process without a monitor does.
 */
async function mark(service: CanaryRolloutService, healthy: boolean, at: number): Promise<void> {
  const record = service.getFeature('aiExtraction')!;
  const current = await stored(service);
  const next = withHealthMark(record, current?.value, healthy, at);
  if (next !== null) await service.store.putMeta(healthMarkKey(record.name), next, current?.version ?? null);
  await service.flush();
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
    expect(readHealthMarks(service.getFeature('aiExtraction')!, (await stored(service))?.value)).toEqual({
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
    // The unhealthy mark of the earlier stage is still stored; it does not count in this one.
    const earlier = (await stored(service))?.value;
    expect(earlier).toMatchObject({ unhealthySince: T0 });
    expect(raiseAllowance(service.getFeature('aiExtraction')!, DAY, stage, earlier)).toEqual({
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

  it('writes only transitions, as a mark of the stage apart from the record', () => {
    expect(withHealthMark(base, undefined, true, T0 + 1)).toBeNull();
    const unhealthy = withHealthMark(base, undefined, false, T0 + 1)!;
    expect(unhealthy).toEqual({ stageStartedAt: T0, unhealthySince: T0 + 1 });
    expect(withHealthMark(base, unhealthy, false, T0 + 2)).toBeNull();
    expect(withHealthMark(base, unhealthy, true, T0 + 3)).toEqual({
      stageStartedAt: T0,
      healthySince: T0 + 3,
    });
  });

  it('names the stage by its start and number: a mark of another stage says nothing', () => {
    const staged: FeatureRecord = { ...base, stageVersion: 3 };
    const unhealthy = withHealthMark(staged, undefined, false, T0 + 1)!;
    expect(unhealthy).toEqual({ stageStartedAt: T0, stageVersion: 3, unhealthySince: T0 + 1 });
    expect(readHealthMarks(staged, unhealthy).unhealthySince).toBe(T0 + 1);
    // Same start, another number (two stages in one millisecond), or another start: not this stage's.
    expect(readHealthMarks({ ...staged, stageVersion: 4 }, unhealthy).unhealthySince).toBeUndefined();
    expect(readHealthMarks({ ...staged, stageStartedAt: T0 + 1 }, unhealthy).unhealthySince).toBeUndefined();
    expect(withHealthMark({ ...staged, stageVersion: 4 }, unhealthy, false, T0 + 2)).toEqual({
      stageStartedAt: T0,
      stageVersion: 4,
      unhealthySince: T0 + 2,
    });
    // A judge that read the feature before its stage changed leaves the later stage's mark alone.
    const later = withHealthMark(
      { ...staged, stageVersion: 5, stageStartedAt: T0 + 9 },
      undefined,
      false,
      T0 + 9,
    )!;
    expect(withHealthMark(staged, later, false, T0 + 10)).toBeNull();
    expect(withHealthMark(staged, later, true, T0 + 10)).toBeNull();
    // A feature created again numbers its stages from 1, later in time: the old mark gives way.
    expect(
      withHealthMark({ ...staged, stageVersion: 1, stageStartedAt: T0 + 20 }, later, false, T0 + 21),
    ).toEqual({
      stageStartedAt: T0 + 20,
      stageVersion: 1,
      unhealthySince: T0 + 21,
    });
    // A value of another shape is no mark.
    expect(readHealthMarks(staged, { unhealthySince: T0 + 1 }).unhealthySince).toBeUndefined();
    expect(readHealthMarks(staged, 'unhealthy').unhealthySince).toBeUndefined();
  });

  it('reads the marks a record of an earlier version carries while no mark is stored', () => {
    const legacy = { ...base, unhealthySince: T0 + 5 } as FeatureRecord;
    expect(readHealthMarks(legacy, undefined)).toEqual({ healthySince: undefined, unhealthySince: T0 + 5 });
    expect(raiseAllowance(legacy, DAY, T0 + 10, undefined)).toEqual({
      allowedAt: T0 + 10 + DAY,
      unhealthySince: T0 + 5,
    });
    // From before the stage: ignored, as those versions did.
    expect(readHealthMarks({ ...legacy, stageStartedAt: T0 + 6 }, undefined).unhealthySince).toBeUndefined();
    // A stored mark has the last word.
    const recovered = withHealthMark(legacy, undefined, true, T0 + 7)!;
    expect(recovered).toEqual({ stageStartedAt: T0, healthySince: T0 + 7 });
    expect(readHealthMarks(legacy, recovered)).toEqual({ healthySince: T0 + 7, unhealthySince: undefined });
  });
});

describe('health marks are meta records beside the feature', () => {
  it("marking health leaves the feature record, its version and the store's version as they were", async () => {
    const { clock, store, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    const before = await store.readState();
    const changes: number[] = [];
    service.events.on('change', (version) => changes.push(version));
    const record = service.getFeature('aiExtraction')!;
    clock.advance(HOUR);
    const unhealthy = await service.admin.markHealth(record, undefined, false, clock.now());
    expect(unhealthy).toMatchObject({ key: 'health:aiExtraction', version: 1 });
    clock.advance(HOUR);
    const healthy = await service.admin.markHealth(record, unhealthy, true, clock.now());
    expect(healthy).toMatchObject({ version: 2, value: { healthySince: clock.now() } });
    // Already says so: nothing written.
    expect(await service.admin.markHealth(record, healthy, true, clock.now())).toBeUndefined();
    await service.refresh();
    const after = await store.readState();
    expect(after.version).toBe(before.version);
    expect(after.features).toEqual(before.features);
    expect(service.getFeature('aiExtraction')).toEqual(record);
    expect(changes).toEqual([]);
    // A writer that read the mark before another one wrote loses the compare-and-set.
    await expect(service.admin.markHealth(record, unhealthy, true, clock.now())).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(service.admin.markHealth(record, undefined, false, clock.now())).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it("another process's raise guard reads the mark from the store at the time of the raise", async () => {
    const { clock, store, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    const operator = await CanaryRolloutService.create({ store, clock, config: service.config });
    services.push(operator);
    clock.advance(2 * DAY);
    await service.admin.markHealth(service.getFeature('aiExtraction')!, undefined, false, clock.now());
    const error = await refusal(operator.updateRolloutPercentage('aiExtraction', 20));
    expect(error.message).toContain('unhealthy since');
    expect(error.allowedAt).toBe(clock.now() + DAY);
    // Going stable is a raise too.
    await refusal(operator.setRolloutStrategy('aiExtraction', 'stable'));
    await operator.updateRolloutPercentage('aiExtraction', 20, { force: true });
  });

  it('a rollback starts a new stage: the mark of the old one no longer counts', async () => {
    const { clock, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    clock.advance(HOUR);
    await mark(service, false, clock.now());
    clock.advance(HOUR);
    await service.rollback('aiExtraction', 'bad figures');
    await service.updateRolloutPercentage('aiExtraction', 10); // from 0: always allowed
    const stage = clock.now();
    const error = await refusal(service.updateRolloutPercentage('aiExtraction', 20));
    expect(error.message).not.toContain('unhealthy');
    expect(error.allowedAt).toBe(stage + DAY);
    expect(service.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBe(stage + DAY);
  });

  it('reads a stored record that still carries the marks of an earlier version', async () => {
    const { store, service } = await make({ rolloutPercentage: 10, minStableTime: DAY });
    const { version, ...write } = service.getFeature('aiExtraction')!;
    await store.putFeature({ ...write, unhealthySince: T0, healthySince: T0 + 1 } as typeof write, version);
    await service.refresh();
    const record = service.getFeature('aiExtraction')!;
    expect(record).toMatchObject({ version: version + 1, unhealthySince: T0, healthySince: T0 + 1 });
    expect(readHealthMarks(record, undefined)).toEqual({ healthySince: T0 + 1, unhealthySince: undefined });
    const error = await refusal(service.updateRolloutPercentage('aiExtraction', 20));
    expect(error.allowedAt).toBe(T0 + 1 + DAY);
  });
});
