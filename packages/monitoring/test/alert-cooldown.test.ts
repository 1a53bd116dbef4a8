import { describe, expect, it } from 'vitest';
import { of, setup, T0, usage } from './helpers';

describe('alert cooldown and resolution', () => {
  it('raises one alert per incident, reminds once per cooldown, reports the end, and does not page on flapping', async () => {
    const { clock, store, rollout, monitor, events } = await setup(
      {
        canaryRollout: {
          features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } },
          thresholds: { windowMs: 30_000 },
          monitoring: { alertCooldownMs: 120_000 },
        },
      },
      { autoRollback: false },
    );
    const at = async (seconds: number, bad: boolean) => {
      clock.set(T0 + seconds * 1_000);
      if (bad) usage(rollout, 'aiExtraction', 200, 20);
      await monitor.tick();
    };
    const alerts = () => of(events, 'alert').map((a) => [(a.at - T0) / 1_000, a.id, a.repeat, a.resolved]);

    for (let s = 10; s <= 130; s += 10) await at(s, true);
    const id = of(events, 'alert')[0]!.id;
    // An incident of two minutes: one alert, one reminder when the cooldown ran out.
    expect(alerts()).toEqual([
      [10, id, false, false],
      [130, id, true, false],
    ]);
    expect(monitor.getStatus().activeAlerts).toEqual([
      expect.objectContaining({
        id,
        level: 'critical',
        type: 'high-error-rate',
        feature: 'aiExtraction',
        since: T0 + 10_000,
      }),
    ]);

    for (let s = 140; s <= 170; s += 10) await at(s, false);
    expect(alerts()).toHaveLength(3);
    expect(alerts()[2]).toEqual([170, id, false, true]);
    expect(monitor.getStatus().activeAlerts).toEqual([]);

    // Back within the cooldown of the last alert: the same incident, without paging again.
    await at(180, true);
    expect(monitor.getStatus().activeAlerts).toEqual([expect.objectContaining({ id })]);
    for (let s = 190; s <= 250; s += 10) await at(s, false);
    expect(alerts()).toHaveLength(3);
    expect(monitor.getStatus().activeAlerts).toEqual([]);

    // After the cooldown, a new incident.
    await at(260, true);
    expect(alerts()).toHaveLength(4);
    expect(alerts()[3]).toEqual([260, expect.not.stringMatching(id), false, false]);

    const logged = await store.listLogs('alerts');
    expect(logged.map((e) => [(e.at - T0) / 1_000, e['resolved']])).toEqual([
      [10, false],
      [130, false],
      [170, true],
      [260, false],
    ]);
  });

  it('alerts on a warning and on a critical incident of one feature separately', async () => {
    const { clock, rollout, monitor, events } = await setup(
      { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } } } },
      { autoRollback: false, memoryUsage: () => 600 * 2 ** 20 },
    );
    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 300, 30, 8_000);
    clock.advance(30_000);
    await monitor.tick();
    clock.advance(30_000);
    await monitor.tick();
    expect(of(events, 'alert').map((a) => [a.feature, a.level, a.type])).toEqual([
      ['aiExtraction', 'critical', 'high-error-rate'],
      ['aiExtraction', 'warning', 'high-latency'],
      [null, 'warning', 'high-memory'],
    ]);
    expect(monitor.getStatus().activeAlerts.map((a) => a.level)).toEqual(['critical', 'warning', 'warning']);
  });
});
