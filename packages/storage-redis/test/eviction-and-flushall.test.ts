import { type CanaryRolloutError, CanaryRolloutService } from '@canary-rollout/core';
import { type Alert, RolloutMonitoringService } from '@canary-rollout/monitoring';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index';
import { hasRedisServer, type RedisServer, startRedisServer } from './helpers/redis-server';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(args: readonly string[] = []): Promise<RedisServer> {
  const started = await startRedisServer({ args });
  cleanups.push(() => started.dispose());
  return started;
}

async function openStore(
  url: string,
  namespace: string,
  options: { pollIntervalMs?: number } = {},
): Promise<{ store: RedisStore; warnings: string[] }> {
  const warnings: string[] = [];
  const store = new RedisStore({
    url,
    namespace,
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  cleanups.push(() => store.close());
  await store.open();
  return { store, warnings };
}

const CONFIG = {
  canaryRollout: {
    features: {
      ocrFallback: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' as const },
      aiExtraction: { enabled: true, rolloutPercentage: 40, rolloutStrategy: 'gradual' as const },
    },
  },
};

describe.skipIf(!hasRedisServer() && process.env['CI'] === undefined)('Redis that can lose the state', () => {
  it('open() warns when maxmemory-policy can evict the store’s keys, and not under noeviction', async () => {
    const evicting = await server(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
    const { warnings } = await openStore(evicting.url, 'evicting');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/maxmemory-policy is allkeys-lru \(maxmemory 67108864 bytes\)/);
    expect(warnings[0]).toMatch(/features, beta lists and the blacklist can vanish/);

    const safe = await server();
    const quiet = await openStore(safe.url, 'safe');
    expect(quiet.warnings).toEqual([]);
    const admin = new Redis(safe.url);
    cleanups.push(async () => void (await admin.quit()));
    await admin.config('SET', 'maxmemory-policy', 'volatile-ttl');
    const later = await openStore(safe.url, 'safe');
    expect(later.warnings).toHaveLength(1);
    expect(later.warnings[0]).toMatch(/volatile-ttl .* the metric buckets/);
  });

  it('the default warning goes to process warnings with the package code', async () => {
    const evicting = await server(['--maxmemory-policy', 'allkeys-random']);
    const seen: Error[] = [];
    const listen = (warning: Error) => seen.push(warning);
    // Node's own listener prints every warning on stderr; this one is expected, so it is only seen.
    const printers = process.listeners('warning');
    for (const printer of printers) process.off('warning', printer);
    process.on('warning', listen);
    const store = new RedisStore({ url: evicting.url, namespace: 'default-warning' });
    cleanups.push(async () => {
      process.off('warning', listen);
      for (const printer of printers) process.on('warning', printer);
      await store.close();
    });
    await store.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.map((w) => (w as Error & { code?: string }).code)).toContain('CANARY_ROLLOUT_STORAGE_REDIS');
  });

  it('keys evicted under allkeys-lru: the service keeps serving, reports the loss and restores the keys', async () => {
    const evicting = await server(['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru']);
    // No polling: a poll during the filling below would find the features gone and restore them,
    // and the filling would then evict at random again (the beta list alone, say, which no reader
    // can tell from an empty one). The refresh after the filling is what this test is about.
    const { store } = await openStore(evicting.url, 'evicted', { pollIntervalMs: 0 });
    const service = await CanaryRolloutService.create({
      store,
      config: CONFIG,
      refreshIntervalMs: 3_600_000,
    });
    cleanups.push(() => service.close());
    const errors: CanaryRolloutError[] = [];
    service.events.on('error', (error) => {
      errors.push(error);
    });
    await service.addBetaUser('beta-1', 'aiExtraction');
    const admin = new Redis(evicting.url);
    cleanups.push(async () => void (await admin.quit()));
    const keys = await admin.keys('*evicted*');
    const featureKey = keys.find((k) => k.endsWith(':features'));
    expect(featureKey).toBeDefined();
    // Fill the server until Redis evicts the feature hash (bounded: 4 MB fills in a few thousand keys).
    const filler = 'x'.repeat(4096);
    for (let i = 0; i < 20_000 && (await admin.exists(featureKey!)) === 1; i += 100) {
      const batch = admin.pipeline();
      for (let j = i; j < i + 100; j++) batch.set(`filler:${j}`, filler);
      await batch.exec();
    }
    expect(await admin.exists(featureKey!)).toBe(0);
    // Room again, so the restore can be written.
    await admin.config('SET', 'maxmemory', '0');
    await admin.del(...(await admin.keys('filler:*')));

    await service.refresh();
    expect(errors.map((e) => e.code)).toContain('STORE_DATA_LOST');
    expect(service.isFeatureEnabledForUser('anyone', 'ocrFallback')).toBe(true);
    expect(service.getFeature('aiExtraction')?.rolloutPercentage).toBe(40);
    expect(service.stateLoss()?.restoredAt).toBeDefined();
    const state = await store.readState();
    expect(state.features.map((f) => f.name).sort()).toEqual(['aiExtraction', 'ocrFallback']);
    expect(state.beta['aiExtraction']).toEqual(['beta-1']);
  });

  it('FLUSHALL under a running service and monitor: last snapshot served, critical monitor-blind alert, store restored', async () => {
    const redis = await server();
    const { store } = await openStore(redis.url, 'flushed');
    const service = await CanaryRolloutService.create({
      store,
      config: CONFIG,
      refreshIntervalMs: 3_600_000,
    });
    cleanups.push(() => service.close());
    const errors: CanaryRolloutError[] = [];
    service.events.on('error', (error) => {
      errors.push(error);
    });
    const monitor = new RolloutMonitoringService({
      rollout: service,
      comparison: 'off',
      memoryUsage: () => 2 ** 27,
    });
    cleanups.push(() => monitor.stop());
    const alerts: Alert[] = [];
    monitor.events.on('alert', (alert) => {
      alerts.push(alert);
    });
    await service.updateRolloutPercentage('aiExtraction', 60, { force: true });
    await service.addBetaUser('beta-1', 'aiExtraction');
    await service.blacklistUser('banned-1');
    await monitor.tick();
    expect(alerts).toEqual([]);

    const admin = new Redis(redis.url);
    cleanups.push(async () => void (await admin.quit()));
    await admin.flushall();
    // Nobody asks: the store's version poll (every 5 s) sees the version go and the service re-reads.
    await vi.waitFor(() => expect(service.stateLoss()?.restoredAt).toBeDefined(), {
      timeout: 15_000,
      interval: 100,
    });
    expect(errors.filter((e) => e.code === 'STORE_DATA_LOST')).toHaveLength(1);
    expect(service.isFeatureEnabledForUser('anyone', 'ocrFallback')).toBe(true);
    expect(service.isFeatureEnabledForUser('banned-1', 'ocrFallback')).toBe(false);

    const report = await monitor.tick();
    const blind = alerts.filter((a) => a.type === 'monitor-blind');
    expect(blind).toHaveLength(1);
    expect(blind[0]).toMatchObject({ level: 'critical', resolved: false });
    expect(blind[0]!.findings.map((f) => f.cause)).toEqual(['state-lost']);
    expect(report.level).toBe('critical');

    const state = await store.readState();
    expect(state.features.find((f) => f.name === 'aiExtraction')?.rolloutPercentage).toBe(60);
    expect(state.beta['aiExtraction']).toEqual(['beta-1']);
    expect(state.blacklist).toEqual(['banned-1']);
    // A rollback works again (it failed with NotFoundError on the wiped store).
    expect((await service.rollback('aiExtraction'))?.feature).toBe('aiExtraction');
    await monitor.tick();
    expect(alerts.filter((a) => a.type === 'monitor-blind').map((a) => a.resolved)).toEqual([false, true]);
  });
});
