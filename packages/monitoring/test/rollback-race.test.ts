import { ManualClock } from '@canary-rollout/core';
import { createMemoryStoreData } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { of, setup, T0, traffic } from './helpers';

const config = {
  canaryRollout: {
    features: { aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const } },
  },
};

/** Two processes: each its own store handle on shared data, rollout service and monitor. */
async function fleet(options: { autoRollback?: boolean } = {}) {
  const data = createMemoryStoreData();
  const clock = new ManualClock(T0);
  const a = await setup(config, { data, clock, ...options });
  const b = await setup(config, { data, clock, ...options });
  return { clock, a, b };
}

describe('several monitors over one store', () => {
  it('records one rollback when two monitors race on the same incident', async () => {
    const { clock, a, b } = await fleet();
    clock.advance(1_000);
    await traffic(a.rollout, 'aiExtraction', 5_000, 10);
    await traffic(b.rollout, 'aiExtraction', 5_000, 10);
    clock.advance(30_000);
    const [ra, rb] = await Promise.all([a.monitor.tick(), b.monitor.tick()]);
    // Both judged the same fleet-wide figures: every call of both processes.
    expect(ra.features.aiExtraction!.calls).toBe(rb.features.aiExtraction!.calls);
    expect(ra.features.aiExtraction!.level).toBe('critical');

    expect(await a.store.listRollbacks()).toHaveLength(1);
    expect([...of(a.events, 'rollback'), ...of(b.events, 'rollback')]).toHaveLength(1);
    await Promise.all([a.rollout.refresh(), b.rollout.refresh()]);
    expect(a.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(0);
    expect(b.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(0);

    for (let i = 0; i < 3; i++) {
      clock.advance(30_000);
      await Promise.all([a.monitor.tick(), b.monitor.tick()]);
    }
    expect(await a.store.listRollbacks()).toHaveLength(1);
  });

  it('records one rollback per incident when the monitors tick one after the other', async () => {
    const { clock, a, b } = await fleet();
    clock.advance(1_000);
    await traffic(b.rollout, 'aiExtraction', 10_000, 10);
    clock.advance(30_000);
    await b.rollout.flush();
    await a.monitor.tick();
    await b.monitor.tick();
    expect(await a.store.listRollbacks()).toHaveLength(1);
    expect(of(a.events, 'rollback')).toHaveLength(1);
    expect(of(b.events, 'rollback')).toEqual([]);
    expect(of(b.events, 'alert')).toEqual([]);
  });

  it('gives one alert per incident across the fleet: a later monitor joins the open incident', async () => {
    const { clock, a, b } = await fleet({ autoRollback: false });
    clock.advance(1_000);
    await traffic(a.rollout, 'aiExtraction', 10_000, 10);
    clock.advance(30_000);
    await a.monitor.tick();
    await b.monitor.tick();
    const [alert] = of(a.events, 'alert');
    expect(alert).toMatchObject({ level: 'critical', resolved: false });
    expect(of(b.events, 'alert')).toEqual([]);
    expect(b.monitor.getStatus().activeAlerts).toEqual([expect.objectContaining({ id: alert!.id })]);

    // The window empties: the incident ends, and is reported resolved once.
    clock.advance(400_000);
    await a.monitor.tick();
    await b.monitor.tick();
    const resolved = [...of(a.events, 'alert'), ...of(b.events, 'alert')].filter((x) => x.resolved);
    expect(resolved).toEqual([expect.objectContaining({ id: alert!.id })]);
    expect((await a.store.listLogs('alerts')).map((e) => e['resolved'])).toEqual([false, true]);
  });
});
