import {
  CanaryRolloutService,
  ConflictError,
  type FeatureRecord,
  RolloutGuardError,
  type RolloutStore,
} from '@canary-rollout/core';
import { healthMarkKey } from '@canary-rollout/core/monitor-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { setup, T0, usage } from './helpers';

const HOUR = 3_600_000;

/** The value of a feature's health mark, as the store holds it now. */
async function storedMark(store: RolloutStore, feature: string): Promise<unknown> {
  const key = healthMarkKey(feature);
  return (await store.readMeta(key)).find((m) => m.key === key)?.value;
}

const others: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(others.splice(0).map((s) => s.close()));
});

describe('minStableTime with a monitor: healthy for this long at the current percentage', () => {
  it('waits for the feature to run healthy, not only for time to pass, and the status says until when', async () => {
    const { clock, store, rollout, monitor } = await setup(
      {
        canaryRollout: {
          features: { aiExtraction: { enabled: true, rolloutPercentage: 10, minStableTime: HOUR } },
        },
      },
      { autoRollback: false },
    );
    // Slow for a while: a warning, so not healthy.
    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 200, 0, 9_000);
    clock.advance(30_000);
    await monitor.tick();
    const unhealthySince = clock.now();
    expect(await storedMark(store, 'aiExtraction')).toMatchObject({ unhealthySince });

    clock.set(T0 + 2 * HOUR); // past stage start + minStableTime, but the window still shows the problem
    usage(rollout, 'aiExtraction', 200, 0, 9_000);
    await monitor.tick();
    const refused = await rollout.updateRolloutPercentage('aiExtraction', 20).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RolloutGuardError);
    expect((refused as RolloutGuardError).message).toContain('unhealthy since');
    expect((refused as RolloutGuardError).allowedAt).toBe(clock.now() + HOUR);

    // Recovered: the window holds only good calls.
    clock.advance(10 * 60_000);
    usage(rollout, 'aiExtraction', 200, 0, 300);
    await monitor.tick();
    const recovered = clock.now();
    expect(await storedMark(store, 'aiExtraction')).toMatchObject({ healthySince: recovered });
    expect((await storedMark(store, 'aiExtraction')) as Record<string, unknown>).not.toHaveProperty(
      'unhealthySince',
    );
    expect(rollout.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBe(recovered + HOUR);

    clock.advance(HOUR - 1);
    const early = await rollout.updateRolloutPercentage('aiExtraction', 20).catch((e: unknown) => e);
    expect((early as RolloutGuardError).allowedAt).toBe(recovered + HOUR);
    await rollout.updateRolloutPercentage('aiExtraction', 20, { force: true });
    await rollout.updateRolloutPercentage('aiExtraction', 10);
    // Lowering started a new stage: its own hour.
    expect(rollout.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBe(clock.now() + HOUR);
  });

  it('writes no health marks where no minStableTime is configured', async () => {
    const { clock, rollout, monitor } = await setup(
      { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 10 } } } },
      { autoRollback: false },
    );
    const before = rollout.getFeature('aiExtraction')!;
    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 200, 0, 9_000);
    clock.advance(30_000);
    await monitor.tick();
    // The record is as it was; the latency warning's incident marker is a meta record of its own.
    expect(rollout.getFeature('aiExtraction')).toEqual(before);
    expect((await rollout.store.readMeta()).map((m) => m.key)).toEqual(['incident:aiExtraction|warning']);
    await rollout.updateRolloutPercentage('aiExtraction', 100);
  });

  it('a store that lost the feature gets its health mark back with it', async () => {
    const { clock, store, rollout, monitor } = await setup(
      {
        canaryRollout: {
          features: { aiExtraction: { enabled: true, rolloutPercentage: 10, minStableTime: HOUR } },
        },
      },
      { autoRollback: false },
    );
    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 200, 0, 9_000);
    clock.advance(30_000);
    await monitor.tick();
    const unhealthySince = clock.now();
    // The feature and its mark are gone, as after a wipe.
    await store.deleteFeature('aiExtraction');
    await store.deleteMeta(healthMarkKey('aiExtraction'));
    await rollout.refresh();
    expect(rollout.stateLoss()?.restored).toMatchObject({ fromSnapshot: ['aiExtraction'], healthMarks: 1 });
    expect(await storedMark(store, 'aiExtraction')).toMatchObject({ unhealthySince });
    clock.set(T0 + 2 * HOUR);
    const refused = await rollout.updateRolloutPercentage('aiExtraction', 20).catch((e: unknown) => e);
    expect((refused as RolloutGuardError).message).toContain('unhealthy since');
  });

  it("marks health beside the feature record: the feature's version stays, so an operator's write on the version it read before the tick goes through", async () => {
    const { clock, store, rollout, monitor } = await setup(
      {
        canaryRollout: {
          features: { aiExtraction: { enabled: true, rolloutPercentage: 10, minStableTime: HOUR } },
        },
      },
      { autoRollback: false },
    );
    // The operator's process (the CLI, the dashboard) read the feature before the tick.
    const operator = await CanaryRolloutService.create({ store, clock, config: rollout.config });
    others.push(operator);
    const read = (await store.readState()).features.find((f) => f.name === 'aiExtraction')!;
    const stateVersion = (await store.readState()).version;
    const conflicts: unknown[] = [];
    const putFeature = store.putFeature.bind(store);
    store.putFeature = (feature, expectedVersion) =>
      putFeature(feature, expectedVersion).catch((error: unknown) => {
        conflicts.push(error);
        throw error;
      });

    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 200, 0, 9_000);
    clock.advance(30_000);
    await monitor.tick();
    // Marked unhealthy, and the feature's record, version and the store's state version are as read.
    expect(await storedMark(store, 'aiExtraction')).toMatchObject({ unhealthySince: clock.now() });
    const after = await store.readState();
    expect(after.version).toBe(stateVersion);
    expect(after.features.find((f) => f.name === 'aiExtraction')).toEqual(read);
    expect(rollout.getFeature('aiExtraction')!.version).toBe(read.version);

    // A tick that marks the recovery while the operator lowers the percentage: neither conflicts.
    clock.advance(10 * 60_000);
    usage(rollout, 'aiExtraction', 200, 0, 300);
    const [, lowered] = await Promise.all([
      monitor.tick(),
      operator.updateRolloutPercentage('aiExtraction', 5),
    ]);
    expect(lowered.version).toBe(read.version + 1);
    expect(conflicts).toEqual([]);
    // What the spy would have seen otherwise: a write on a version another writer moved past.
    const { version: _v, ...write } = read as FeatureRecord;
    await expect(store.putFeature({ ...write, rolloutPercentage: 4 }, read.version)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(conflicts).toHaveLength(1);
  });
});
