import { ManualClock, MemoryStore } from '@canary-rollout/core';
import { bucketOf } from '@canary-rollout/core/experiments';
import { RolloutMonitoringService } from '@canary-rollout/monitoring';
import { ProviderEvents } from '@openfeature/server-sdk';
import { describe, expect, it } from 'vitest';
import { parseTrackingEvent } from '../src/index';
import { providerFor, until } from './helpers';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

describe('OpenFeature tracking', () => {
  it('names outcomes <feature>.success and <feature>.failure, with the latency as value', () => {
    expect(parseTrackingEvent('aiExtraction.success', { value: 120 })).toEqual({
      feature: 'aiExtraction',
      ok: true,
      latencyMs: 120,
    });
    expect(parseTrackingEvent('aiExtraction.failure', {})).toEqual({
      feature: 'aiExtraction',
      ok: false,
      latencyMs: undefined,
    });
    expect(parseTrackingEvent('a.b.failure', { value: -1 })).toEqual({
      feature: 'a.b',
      ok: false,
      latencyMs: undefined,
    });
    expect(parseTrackingEvent('aiExtraction.clicked', {})).toBeUndefined();
    expect(parseTrackingEvent('.success', {})).toBeUndefined();
    expect(parseTrackingEvent('aiExtraction.success', { value: Number.NaN })?.latencyMs).toBeUndefined();
  });

  it('client.track records into the usage metrics the monitor judges: 10 % failures roll the feature back', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const { client, service } = await providerFor(
      { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 50 } } } },
      { store, clock },
    );
    const monitor = new RolloutMonitoringService({
      rollout: service,
      clock,
      memoryUsage: () => 2 ** 26,
      comparison: 'off',
    });
    const changed: (readonly string[] | undefined)[] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (details) => changed.push(details?.flagsChanged));

    clock.advance(1_000);
    let on = 0;
    let failed = 0;
    for (let i = 0; i < 2_000; i++) {
      const targetingKey = `user-${i}`;
      if (!(await client.getBooleanValue('aiExtraction', false, { targetingKey }))) continue;
      on++;
      if (i % 10 === 0) failed++;
      client.track(
        i % 10 === 0 ? 'aiExtraction.failure' : 'aiExtraction.success',
        { targetingKey },
        { value: 200 },
      );
    }
    expect(on).toBe(
      Array.from({ length: 2000 }, (_, i) => bucketOf('aiExtraction', `user-${i}`) < 5000).filter(Boolean)
        .length,
    );
    // Tracked for other names or features: ignored.
    client.track('aiExtraction.clicked', { targetingKey: 'user-1' });
    client.track('noSuchFeature.failure', { targetingKey: 'user-1' });
    await service.flush();
    expect(service.getRolloutStatus().features.aiExtraction?.metrics).toMatchObject({
      calls: on,
      failedCalls: failed,
    });
    expect(failed / on).toBeGreaterThan(0.05);

    clock.advance(30_000);
    const report = await monitor.tick();
    expect(report.rolledBack).toEqual(['aiExtraction']);
    await until(() => changed.length > 0, 5000, 'PROVIDER_CONFIGURATION_CHANGED');
    // The rollback (and any mark the monitor set on the record before it) changed aiExtraction only.
    expect(changed.every((flags) => flags?.length === 1 && flags[0] === 'aiExtraction')).toBe(true);
    expect(await client.getBooleanValue('aiExtraction', true, { targetingKey: 'user-0' })).toBe(false);
    const [rollback] = await store.listRollbacks('aiExtraction');
    expect(rollback).toMatchObject({ source: 'automatic', previous: { rolloutPercentage: 50 } });
    await monitor.stop();
  });

  it('tracking with a context that a rule with its own percentage turned on counts for that rule too', async () => {
    const { client, service } = await providerFor({
      canaryRollout: {
        features: {
          aiExtraction: {
            enabled: true,
            rolloutPercentage: 0,
            rules: [
              {
                name: 'pro',
                constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }],
                rolloutPercentage: 100,
              },
            ],
          },
        },
      },
    });
    for (let i = 0; i < 30; i++) {
      const ctx = { targetingKey: `user-${i}`, plan: i % 3 === 0 ? 'pro' : 'free' };
      if (await client.getBooleanValue('aiExtraction', false, ctx))
        client.track('aiExtraction.failure', ctx, { value: 50 });
      else client.track('aiExtraction.success', ctx);
    }
    await service.flush();
    const status = service.getRolloutStatus().features.aiExtraction!;
    expect(status.metrics).toMatchObject({ calls: 30, failedCalls: 10 });
    expect(status.rules?.[0]).toMatchObject({ name: 'pro', metrics: { calls: 10, failedCalls: 10 } });
  });
});
