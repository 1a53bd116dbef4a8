import { RolloutGuardError } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { setup, T0, usage } from './helpers';

const HOUR = 3_600_000;

describe('minStableTime with a monitor: healthy for this long at the current percentage', () => {
  it('waits for the feature to run healthy, not only for time to pass, and the status says until when', async () => {
    const { clock, rollout, monitor } = await setup(
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
    expect(rollout.getFeature('aiExtraction')).toMatchObject({ unhealthySince });

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
    expect(rollout.getFeature('aiExtraction')).toMatchObject({ healthySince: recovered });
    expect(rollout.getFeature('aiExtraction')!['unhealthySince']).toBeUndefined();
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
});
