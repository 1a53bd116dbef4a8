import { CanaryRolloutService, ManualClock, type MetricBucket } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Makes the store's next lock releases fail after releasing, as an I/O error on the lock file would. */
function failLockRelease(store: FileStore, times: number): void {
  const lock = (store as unknown as { driver: { lock: { release(): Promise<void> } } }).driver.lock;
  const release = lock.release.bind(lock);
  let left = times;
  lock.release = async () => {
    await release();
    if (left-- > 0) throw Object.assign(new Error('EIO: i/o error, unlink .lock'), { code: 'EIO' });
  };
}

describe('a flush whose metrics were written but whose lock release failed', () => {
  it('is retried by core and counted once: 10 recorded calls, 10 stored', async () => {
    const temp = await tempDir('storage-file-exactly-once-');
    cleanups.push(() => temp.remove());
    const store = new FileStore({ dir: temp.dir, onWarning: () => undefined });
    const service = await CanaryRolloutService.create({
      store,
      clock: new ManualClock(T0),
      config: { canaryRollout: { features: { search: { enabled: true, rolloutPercentage: 50 } } } },
    });
    cleanups.push(() => service.close());
    const errors: Error[] = [];
    service.events.on('error', (error) => errors.push(error));

    for (let i = 0; i < 10; i++) service.trackFeatureUsage(`user-${i}`, 'search', { calls: 1 });
    failLockRelease(store, 1);
    await service.flush();
    // The metrics file was replaced before the release failed; the caller only saw the failure.
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/EIO/);
    const calls = (buckets: MetricBucket[]) => buckets.reduce((sum, b) => sum + b.calls, 0);
    const peer = new FileStore({ dir: temp.dir, onWarning: () => undefined });
    await peer.open();
    cleanups.push(() => peer.close());
    expect(calls(await peer.readMetrics(0))).toBe(10);
    expect(service.pendingMetricBuckets()).toBe(1);

    await service.flush();
    expect(service.pendingMetricBuckets()).toBe(0);
    expect(calls(await peer.readMetrics(0))).toBe(10);
  });
});
