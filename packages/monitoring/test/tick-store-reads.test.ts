import { CanaryRolloutService, ManualClock, MemoryStore, type MetricBucket } from '@canary-rollout/core';
import type { MetricsReadOptions } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutMonitoringService } from '../src/index';
import { MB, T0, usage } from './helpers';

/** Counts the store's metric reads: a store scans its buckets on each one. */
class CountingStore extends MemoryStore {
  reads = 0;
  override async readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]> {
    this.reads++;
    return super.readMetrics(since, features, options);
  }
}

const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await ('stop' in thing ? thing.stop() : thing.close());
});

/** Metric reads of one tick over `count` gradual features compared with their control group. */
async function readsPerTick(count: number): Promise<number> {
  const clock = new ManualClock(T0);
  const store = new CountingStore();
  const features: Record<string, { enabled: boolean; rolloutPercentage: number }> = {};
  for (let i = 0; i < count; i++) features[`feature${i}`] = { enabled: true, rolloutPercentage: 25 };
  const rollout = await CanaryRolloutService.create({
    store,
    clock,
    config: { canaryRollout: { features, experiments: { comparison: 'alert' } } },
  });
  open.push(rollout);
  const monitor = new RolloutMonitoringService({ rollout, memoryUsage: () => 100 * MB });
  open.push(monitor);
  for (let tick = 0; tick < 3; tick++) {
    clock.advance(30_000);
    for (let i = 0; i < count; i++) usage(rollout, `feature${i}`, 50, 0);
    store.reads = 0;
    await monitor.tick();
  }
  return store.reads;
}

describe('a tick reads the store a fixed number of times, whatever the number of features', () => {
  it('10 and 200 compared features cost the same reads', async () => {
    const few = await readsPerTick(10);
    const many = await readsPerTick(200);
    // The rollout service's flush, the windows, and one read of every feature's arms.
    expect(few).toBeLessThanOrEqual(3);
    expect(many).toBe(few);
  });
});
