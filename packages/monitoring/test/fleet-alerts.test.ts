import {
  type CanaryConfigInput,
  ManualClock,
  MemoryStore,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { createMemoryStoreData, type MemoryStoreData } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/index';
import { of, setup, T0, traffic, usage } from './helpers';

/** A handle that hears nothing of other handles' changes: its snapshot lags until it re-reads. */
class DeafStore extends MemoryStore {
  override subscribe(): () => void {
    return () => undefined;
  }
}

/** A process whose rollbacks fail, as if it died between claiming an incident and rolling back. */
class NoRollbackStore extends MemoryStore {
  override async rollback(): Promise<never> {
    throw new StoreUnavailableError('@canary-rollout/test: gone before the rollback');
  }
}

const gradual = {
  canaryRollout: {
    features: { aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const } },
    monitoring: { alertCooldownMs: 60_000 },
  },
};

/** `size` processes: each its own store handle on shared data, rollout service and monitor. */
async function fleet(
  config: CanaryConfigInput,
  size: number,
  options: { autoRollback?: boolean; deaf?: number; failing?: number } = {},
) {
  const data: MemoryStoreData = createMemoryStoreData();
  const clock = new ManualClock(T0);
  const processes: Array<Awaited<ReturnType<typeof setup>>> = [];
  for (let i = 0; i < size; i++) {
    const Store = i === options.deaf ? DeafStore : i === options.failing ? NoRollbackStore : MemoryStore;
    const store = new Store({ data });
    const { deaf: _deaf, failing: _failing, ...rest } = options;
    processes.push(await setup(config, { ...rest, store, clock, monitorId: `monitor-${i}` }));
  }
  const alerts = () => processes.flatMap((p) => of(p.events, 'alert'));
  const rollbacks = () => processes.flatMap((p) => of(p.events, 'rollback'));
  return { clock, processes, store: processes[0]!.store, alerts, rollbacks };
}

const logged = (entries: Record<string, unknown>[]) =>
  entries.map((e) => [e['key'], e['id'], e['repeat'], e['resolved']]);

describe('several monitors ticking at once over one store', () => {
  it('give one alert, one rollback and one resolution per incident, round after round', async () => {
    const { clock, processes, store, alerts, rollbacks } = await fleet(gradual, 3);
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
      [2, 0, 1],
    ];
    const ids: string[] = [];
    for (const [round, order] of orders.entries()) {
      if (round > 0) {
        // Past the cooldown, the new stage starting on a bucket boundary (the bucket straddling a
        // stage start is not judged).
        clock.set(Math.ceil((clock.now() + 120_000) / 10_000) * 10_000);
        await processes[round % 3]!.rollout.updateRolloutPercentage('aiExtraction', 25);
        await Promise.all(processes.map((p) => p.rollout.refresh()));
      }
      for (const p of processes) p.events.length = 0;
      clock.advance(1_000);
      for (const p of processes) await traffic(p.rollout, 'aiExtraction', 2_000, 10);
      clock.advance(30_000);
      const since = clock.now();
      await Promise.all(order.map((i) => processes[i]!.monitor.tick()));

      // One alert in the log and to listeners, one rollback, both from the monitor that claimed.
      const [alert, ...more] = alerts();
      expect(more).toEqual([]);
      expect(alert).toMatchObject({ key: 'aiExtraction|critical', resolved: false, repeat: false });
      ids.push(alert!.id);
      expect(logged(await store.listLogs('alerts', { since }))).toEqual([
        ['aiExtraction|critical', alert!.id, false, false],
      ]);
      expect(await store.listRollbacks()).toHaveLength(round + 1);
      expect(rollbacks().map((r) => r.feature)).toEqual(['aiExtraction']);
      const winner = processes.find((p) => of(p.events, 'alert').length === 1)!;
      expect(of(winner.events, 'rollback')).toHaveLength(1);
      expect(winner.events.map((e) => e.event)).toEqual(['alert', 'rollout-changed', 'rollback', 'health']);
      for (const p of processes) {
        expect(p.monitor.getStatus().activeAlerts.map((a) => a.id)).toEqual([alert!.id]);
      }

      // The feature is off: the next ticks see it healthy, and the fleet resolves the incident once.
      for (let tick = 0; tick < 2; tick++) {
        clock.advance(30_000);
        await Promise.all(order.map((i) => processes[i]!.monitor.tick()));
      }
      const resolved = alerts().filter((a) => a.resolved);
      expect(resolved.map((a) => a.id)).toEqual([alert!.id]);
      expect(logged(await store.listLogs('alerts', { since }))).toEqual([
        ['aiExtraction|critical', alert!.id, false, false],
        ['aiExtraction|critical', alert!.id, false, true],
      ]);
      for (const p of processes) expect(p.monitor.getStatus().activeAlerts).toEqual([]);
      expect(await store.listRollbacks()).toHaveLength(round + 1);
    }
    expect(new Set(ids).size).toBe(orders.length);
  });

  it('lets a monitor whose snapshot lags re-read the record and join the incident silently', async () => {
    const { clock, processes, store, alerts, rollbacks } = await fleet(gradual, 2, { deaf: 1 });
    const [a, b] = [processes[0]!, processes[1]!];
    clock.advance(1_000);
    await traffic(a.rollout, 'aiExtraction', 4_000, 10);
    clock.advance(30_000);
    await a.monitor.tick();
    // b still holds the version a judged: its claim conflicts, it re-reads and finds a's marker.
    expect(b.rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
    await b.monitor.tick();
    expect(alerts().map((x) => x.monitor)).toEqual(['monitor-0']);
    expect(rollbacks().map((x) => x.feature)).toEqual(['aiExtraction']);
    expect(await store.listRollbacks()).toHaveLength(1);
    expect(of(b.events, 'error')).toEqual([]);
    const [alert] = alerts();
    expect(b.monitor.getStatus().activeAlerts.map((x) => x.id)).toEqual([alert!.id]);

    await b.rollout.refresh();
    for (let tick = 0; tick < 2; tick++) {
      clock.advance(30_000);
      await Promise.all([b.monitor.tick(), a.monitor.tick()]);
    }
    expect(
      alerts()
        .filter((x) => x.resolved)
        .map((x) => x.id),
    ).toEqual([alert!.id]);
    expect((await store.listLogs('alerts')).map((e) => e['resolved'])).toEqual([false, true]);
  });

  it('roll back on the next tick when the monitor that claimed the incident did not', async () => {
    const { clock, processes, store, alerts, rollbacks } = await fleet(gradual, 3, { failing: 0 });
    clock.advance(1_000);
    await traffic(processes[1]!.rollout, 'aiExtraction', 4_000, 10);
    await processes[1]!.rollout.flush();
    clock.advance(30_000);
    // The failing process claims first; the others join in the same round and leave it the rollback.
    await processes[0]!.monitor.tick();
    await Promise.all([processes[1]!.monitor.tick(), processes[2]!.monitor.tick()]);
    expect(alerts().map((a) => a.monitor)).toEqual(['monitor-0']);
    expect(of(processes[0]!.events, 'error').map((e) => e.message)).toEqual([
      '@canary-rollout/test: gone before the rollback',
    ]);
    expect(await store.listRollbacks()).toEqual([]);

    // Next round, the two that hold the incident race for the rollback: it happens once.
    clock.advance(10_000);
    await Promise.all([processes[2]!.monitor.tick(), processes[1]!.monitor.tick()]);
    expect(await store.listRollbacks()).toHaveLength(1);
    expect(rollbacks()).toHaveLength(1);
    expect(alerts()).toHaveLength(1);
  });

  it('remind once per cooldown across the fleet while an incident lasts', async () => {
    const config = {
      canaryRollout: {
        features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } },
        thresholds: { windowMs: 30_000 },
        monitoring: { alertCooldownMs: 60_000 },
      },
    };
    const { clock, processes, store, alerts } = await fleet(config, 3, { autoRollback: false });
    for (let s = 10; s <= 150; s += 10) {
      clock.set(T0 + s * 1_000);
      usage(processes[s % 3]!.rollout, 'aiExtraction', 200, 0, 9_000);
      await Promise.all(processes.map((p) => p.monitor.tick()));
    }
    for (let s = 160; s <= 200; s += 10) {
      clock.set(T0 + s * 1_000);
      await Promise.all(processes.map((p) => p.monitor.tick()));
    }
    const [first] = alerts();
    const seen = (list: readonly Alert[]) =>
      list.map((a) => [(a.at - T0) / 1_000, a.id, a.repeat, a.resolved]);
    const expected = [
      [10, first!.id, false, false],
      [70, first!.id, true, false],
      [130, first!.id, true, false],
      [190, first!.id, false, true],
    ];
    expect(seen(alerts()).sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual(expected);
    expect(seen((await store.listLogs('alerts')) as unknown as Alert[])).toEqual(expected);
  });

  it('give one fleet-wide alert, its marker on no feature, and roll every feature back once', async () => {
    const config = {
      canaryRollout: {
        features: {
          ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' as const },
          aiExtraction: { enabled: true, rolloutPercentage: 40, rolloutStrategy: 'gradual' as const },
          tableExtraction: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' as const },
        },
      },
    };
    const { clock, processes, store, alerts, rollbacks } = await fleet(config, 3);
    await processes[0]!.rollout.addBetaUser('beta-1', 'ocrFallback');
    clock.advance(1_000);
    // 12 % over 50 calls per feature, each from another process: no feature alone is conclusive,
    // together they are.
    for (const [i, feature] of ['aiExtraction', 'ocrFallback', 'tableExtraction'].entries()) {
      usage(processes[i]!.rollout, feature, 50, 6);
    }
    clock.advance(30_000);
    const reports = await Promise.all(processes.map((p) => p.monitor.tick()));
    expect(reports.some((r) => r.global.level === 'critical')).toBe(true);

    const fleetWide = alerts().filter((a) => a.feature === null);
    expect(fleetWide).toEqual([expect.objectContaining({ key: '*|critical', type: 'global-error-rate' })]);
    // The fleet's incident has a marker of its own, on no feature.
    const marked = await store.readMeta('incident:');
    expect(marked.find((m) => m.key === 'incident:*|critical')?.value).toMatchObject({
      id: fleetWide[0]!.id,
    });
    for (const f of (await store.readState()).features) expect(f['incidents']).toBeUndefined();
    expect((await store.listRollbacks()).map((r) => r.feature).sort()).toEqual([
      'aiExtraction',
      'ocrFallback',
    ]);
    expect(
      rollbacks()
        .map((r) => [r.feature, r.cause])
        .sort(),
    ).toEqual([
      ['aiExtraction', 'global-error-rate'],
      ['ocrFallback', 'global-error-rate'],
    ]);
    // Each feature's warning was claimed once too.
    const warnings = alerts().filter((a) => a.feature !== null && !a.resolved);
    expect(warnings.map((a) => a.key).sort()).toEqual([
      'aiExtraction|warning',
      'ocrFallback|warning',
      'tableExtraction|warning',
    ]);

    for (let tick = 0; tick < 2; tick++) {
      clock.advance(30_000);
      await Promise.all(processes.map((p) => p.monitor.tick()));
    }
    const resolved = alerts().filter((a) => a.resolved && a.feature === null);
    expect(resolved.map((a) => a.id)).toEqual([fleetWide[0]!.id]);
    expect(await store.listRollbacks()).toHaveLength(2);
  });
});
