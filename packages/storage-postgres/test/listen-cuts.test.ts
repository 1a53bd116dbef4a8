import { CanaryRolloutService } from '@canary-rollout/core';
import { TcpProxy } from '@canary-rollout/storage-test-suite';
import { afterEach, expect, it, vi } from 'vitest';
import { feature, sleep } from '../../storage-redis/test/helpers/data';
import { PostgresStore } from '../src/index';
import { describeWithPostgres, freshNamespace, SERVER, urlOf } from './helpers/pg-env';

const INSTANCES = 3;
const CUTS = 100;

describeWithPostgres('LISTEN connections cut while changes are made', (db) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it(`leaves every instance on the latest version after ${CUTS} cuts`, async () => {
    const namespace = freshNamespace('cuts');
    const writer = new PostgresStore({ connectionString: db().url, namespace, pollIntervalMs: 0 });
    cleanups.push(() => writer.close());
    await writer.open();
    let current = await writer.putFeature(feature({ rolloutPercentage: 0 }), null);
    const proxies: TcpProxy[] = [];
    const warnings: string[] = [];
    const services: CanaryRolloutService[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const proxy = await new TcpProxy(SERVER.host, SERVER.port).start();
      proxies.push(proxy);
      cleanups.push(() => proxy.close());
      // No polling and no periodic refresh: only notifications and the check after a reconnect.
      const store = new PostgresStore({
        connectionString: urlOf(db().name, proxy.port),
        namespace,
        pollIntervalMs: 0,
        // Background folds fail when a cut hits them; collected (and checked) instead of printed.
        onWarning: (message) => warnings.push(message),
      });
      const service = await CanaryRolloutService.create({ store, refreshIntervalMs: 3_600_000 });
      service.events.on('error', () => {});
      services.push(service);
      cleanups.push(async () => {
        await service.close();
        await store.close();
      });
    }
    for (let cut = 0; cut < CUTS; cut++) {
      // Another instance each time, and now and then all of them.
      const hit = cut % 10 === 9 ? proxies : [proxies[cut % INSTANCES]!];
      // A cut closes what is open: on a loaded machine an instance may still be reconnecting from
      // the last one, and cutting nothing would not be a cut.
      await vi.waitFor(() => expect(hit.every((proxy) => proxy.open > 0)).toBe(true), {
        timeout: 10_000,
        interval: 5,
      });
      for (const proxy of hit) proxy.cutConnections();
      const { version, ...write } = current;
      current = await writer.putFeature({ ...write, rolloutPercentage: (cut % 100) + 1 }, version);
      await sleep(cut % 4 === 0 ? 50 : 5);
    }
    const latest = (await writer.readState()).version;
    for (const warning of warnings)
      expect(warning).toMatch(/^@canary-rollout\/storage-postgres: (foldMetrics|pruneMetrics) failed: /);
    await vi.waitFor(
      () => {
        for (const service of services) {
          expect(service.getFeature('search')?.version).toBe(current.version);
          expect(service.getFeature('search')?.rolloutPercentage).toBe(current.rolloutPercentage);
        }
      },
      { timeout: 30_000, interval: 100 },
    );
    expect((await writer.readState()).version).toBe(latest);
    for (const proxy of proxies) expect(proxy.accepted).toBeGreaterThan(CUTS / INSTANCES);
  }, 120_000);
});
