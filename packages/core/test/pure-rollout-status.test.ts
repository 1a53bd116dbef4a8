import {
  buildRolloutStatus,
  type CanaryConfigInput,
  CanaryRolloutService,
  ManualClock,
  MemoryStore,
  parseConfig,
} from '@canary-rollout/core';
import { HEALTH_MARK_PREFIX, healthMarkKey, withConfigFeatures } from '@canary-rollout/core/monitor-kit';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const input: CanaryConfigInput = {
  canaryRollout: {
    enabled: true,
    thresholds: { minStableTime: 3_600_000 },
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' },
      ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
    },
  },
};
const config = parseConfig(input);
const services: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

describe('buildRolloutStatus', () => {
  it("gives the service's status from the store's state and buckets alone", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const service = await CanaryRolloutService.create({ store, config: input, clock });
    services.push(service);
    await service.addBetaUser('user-9', 'ocrFallback');
    await service.blacklistUser('user-7');
    let inRollout = 0;
    for (let i = 0; inRollout < 40; i++) {
      // Calls of users outside the rollout count for the control arm, which the status leaves out.
      if (!service.isFeatureEnabledForUser(`user-${i}`, 'aiExtraction')) continue;
      inRollout++;
      service.trackFeatureUsage(`user-${i}`, 'aiExtraction', {
        calls: 1,
        successfulCalls: i % 10 === 0 ? 0 : 1,
        failedCalls: i % 10 === 0 ? 1 : 0,
        latency: 100 + i,
      });
    }
    await service.flush();
    clock.advance(60_000);
    const now = clock.now();

    const state = await store.readState();
    const buckets = await store.readMetrics(now - config.canaryRollout.thresholds.windowMs);
    const healthMarks = await store.readMeta(HEALTH_MARK_PREFIX);
    const pure = buildRolloutStatus({ state, buckets, healthMarks, config, now });
    expect(pure).toEqual(service.getRolloutStatus());
    expect(pure.features.aiExtraction!.metrics.calls).toBe(40);
    expect(pure.features.ocrFallback!.betaUsers).toBe(1);
    expect(pure.blacklistedUsers).toBe(1);
  });

  it('reads nothing but its input: the same input gives the same status', () => {
    const state = withConfigFeatures(
      { version: 0, features: [], beta: Object.create(null), blacklist: [] },
      config,
      T0,
    );
    const a = buildRolloutStatus({ state, buckets: [], healthMarks: [], config, now: T0 });
    const b = buildRolloutStatus({ state, buckets: [], healthMarks: [], config, now: T0 });
    expect(a).toEqual(b);
    expect(Object.keys(a.features).sort()).toEqual(['aiExtraction', 'ocrFallback']);
    expect(a.features.aiExtraction!.nextRaiseAllowedAt).toBe(T0 + 3_600_000);
  });

  it('takes the health marks from its input: an unhealthy mark of the stage holds the next raise', () => {
    const state = withConfigFeatures(
      { version: 0, features: [], beta: Object.create(null), blacklist: [] },
      config,
      T0,
    );
    const record = state.features.find((f) => f.name === 'aiExtraction')!;
    const stage = { stageStartedAt: record.stageStartedAt, stageVersion: record.stageVersion };
    const now = T0 + 2 * 3_600_000;
    const status = (healthMarks: { key: string; value: unknown; version: number }[]) =>
      buildRolloutStatus({ state, buckets: [], healthMarks, config, now }).features.aiExtraction!
        .nextRaiseAllowedAt;
    const key = healthMarkKey('aiExtraction');
    expect(status([{ key, value: { ...stage, unhealthySince: T0 + 60_000 }, version: 1 }])).toBe(
      now + 3_600_000,
    );
    expect(status([{ key, value: { ...stage, healthySince: T0 + 60_000 }, version: 2 }])).toBe(
      T0 + 60_000 + 3_600_000,
    );
    // Another stage's mark, another key: as without marks.
    const earlier = { stageStartedAt: T0 - 1, unhealthySince: T0 };
    expect(status([{ key, value: earlier, version: 1 }])).toBe(T0 + 3_600_000);
    expect(
      status([{ key: 'incident:aiExtraction|warning', value: { ...stage, unhealthySince: T0 }, version: 1 }]),
    ).toBe(T0 + 3_600_000);
  });

  it('withConfigFeatures keeps stored features as they are and adds only the missing ones', () => {
    const stored = withConfigFeatures(
      { version: 3, features: [], beta: Object.create(null), blacklist: [] },
      config,
      T0,
    ).features.find((f) => f.name === 'aiExtraction')!;
    const state = withConfigFeatures(
      { version: 3, features: [{ ...stored, rolloutPercentage: 60, version: 4 }], beta: {}, blacklist: [] },
      config,
      T0 + 1,
    );
    expect(state.features.map((f) => [f.name, f.rolloutPercentage])).toEqual([
      ['aiExtraction', 60],
      ['ocrFallback', 0],
    ]);
  });
});
