import { MemoryStore, type MetricBucket, StoreUnavailableError } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { of, setup, traffic } from './helpers';

class FlakyStore extends MemoryStore {
  metricsDown = false;
  logsDown = false;
  override async readMetrics(since: number, features?: readonly string[]): Promise<MetricBucket[]> {
    if (this.metricsDown) throw new Error('connection refused');
    return super.readMetrics(since, features);
  }
  override async appendLog(...args: Parameters<MemoryStore['appendLog']>): Promise<void> {
    if (this.logsDown) throw new StoreUnavailableError('@canary-rollout/test: log unavailable');
    return super.appendLog(...args);
  }
}

describe('store faults', () => {
  it('are error events: a tick that cannot read metrics rejects, one that cannot write logs still acts', async () => {
    const store = new FlakyStore();
    const { clock, rollout, monitor, events } = await setup(
      { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } } } },
      { store },
    );
    clock.advance(1_000);
    await traffic(rollout, 'aiExtraction', 10_000, 8);
    clock.advance(30_000);

    store.metricsDown = true;
    await expect(monitor.tick()).rejects.toThrow(StoreUnavailableError);
    const [fault] = of(events, 'error');
    expect(fault!.message).toBe('@canary-rollout/monitoring: failed to read metrics: connection refused');
    expect(of(events, 'rollback')).toEqual([]);

    store.metricsDown = false;
    store.logsDown = true;
    await monitor.tick();
    expect(of(events, 'error').map((e) => e.message)).toEqual([
      '@canary-rollout/monitoring: failed to read metrics: connection refused',
      '@canary-rollout/test: log unavailable',
      '@canary-rollout/test: log unavailable',
    ]);
    // The alert still reached listeners, and the rollback happened.
    expect(of(events, 'alert')).toHaveLength(1);
    expect(of(events, 'rollback')).toHaveLength(1);
    expect(await store.listLogs('alerts')).toEqual([]);
  });

  it('rejects invalid options, naming them', async () => {
    const { rollout } = await setup({ canaryRollout: {} });
    const { RolloutMonitoringService } = await import('../src/index');
    expect(() => new RolloutMonitoringService({ rollout, intervalMs: 0 })).toThrow(
      '@canary-rollout/monitoring: option intervalMs must be a positive number of ms, got 0',
    );
    expect(() => new RolloutMonitoringService({ rollout, alertCooldownMs: -1 })).toThrow(/alertCooldownMs/);
  });
});
