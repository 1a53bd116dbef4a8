import { MemoryStore, StoreDataCorruptedError } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { readMonitoringStatus } from '../src/index';
import { setup, traffic, usage } from './helpers';

const config = {
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 25 },
      ocrFallback: { enabled: true, rolloutPercentage: 50 },
    },
  },
};

describe('monitoring status', () => {
  it('carries health per feature, active alerts, the last rollback and the last tick', async () => {
    const { clock, store, rollout, monitor } = await setup(config);
    expect(monitor.getStatus()).toMatchObject({
      running: false,
      lastTickAt: null,
      lastRollbackAt: null,
      level: null,
      activeAlerts: [],
    });
    clock.advance(1_000);
    await traffic(rollout, 'aiExtraction', 4_000, 10);
    usage(rollout, 'ocrFallback', 200, 0, 7_000);
    clock.advance(30_000);
    await monitor.tick();
    const status = monitor.getStatus();
    expect(status).toMatchObject({ lastTickAt: clock.now(), lastRollbackAt: clock.now(), level: 'critical' });
    expect(status.features.aiExtraction).toMatchObject({ level: 'critical', rolloutPercentage: 25 });
    expect(status.features.ocrFallback).toMatchObject({ level: 'warning', rolloutPercentage: 50 });
    expect(status.activeAlerts.map((a) => [a.feature, a.level, a.type])).toEqual([
      ['aiExtraction', 'critical', 'high-error-rate'],
      ['ocrFallback', 'warning', 'high-latency'],
    ]);

    // A process without a monitor (the CLI) reads the same from the store.
    const other = new MemoryStore({ data: store.data });
    const fromStore = await readMonitoringStatus(other);
    expect(fromStore).toEqual({ ...status, running: false });
  });

  it('reads an empty status from a store no monitor has written to', async () => {
    expect(await readMonitoringStatus(new MemoryStore())).toEqual({
      running: false,
      lastTickAt: null,
      lastRollbackAt: null,
      level: null,
      global: null,
      features: {},
      activeAlerts: [],
    });
  });

  it('reports a foreign latest health report clearly, without quoting it', async () => {
    const store = new MemoryStore();
    await store.appendLog('health-reports', { at: 5, level: 'fine', note: 'jane@example.com' });
    const error = await readMonitoringStatus(store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreDataCorruptedError);
    expect((error as Error).message).toBe(
      '@canary-rollout/monitoring: the latest entry of the health-reports log (at 5) is not a health report: field level is a string',
    );
  });
});
