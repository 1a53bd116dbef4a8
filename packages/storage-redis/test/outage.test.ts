import { CanaryRolloutService } from '@canary-rollout/core';
import { probeDuring, ServiceTraffic } from '@canary-rollout/storage-test-suite';
import { afterEach, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index';
import { bucket, codeOf, feature, sleep, user } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

const OUTAGE_MS = 5000;
const USERS = Array.from({ length: 50 }, (_, i) => `user-${i}`);

describeWithRedis(
  'redis-server stopped for 5 seconds and restarted with its data',
  (target) => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    /*
     * One outage, two observers: store calls made directly (fail fast, then the same data and
     * changes again), and a CanaryRolloutService evaluating and tracking under steady traffic
     * (no exception to callers, the same answers, every counted call stored exactly once).
     */
    it('fails store calls fast, keeps the service answering, and loses or doubles no counted call', async () => {
      const server = target().server!;
      const namespace = freshNamespace('outage');
      const store = new RedisStore({ url: server.url, namespace, commandTimeoutMs: 1000 });
      const peer = new RedisStore({ url: server.url, namespace, commandTimeoutMs: 1000, pollIntervalMs: 0 });
      const serviceStore = new RedisStore({ url: server.url, namespace, commandTimeoutMs: 1000 });
      cleanups.push(
        () => store.close(),
        () => peer.close(),
        () => serviceStore.close(),
      );
      await store.open();
      await peer.open();
      const created = await store.putFeature(feature(), null);
      const registered = user();
      await store.registerUser(registered);
      await store.addMetrics([bucket({ feature: 'direct' })]);
      const heard: number[] = [];
      peer.subscribe((change) => heard.push(change.version ?? -1));

      const service = await CanaryRolloutService.create({
        store: serviceStore,
        flushIntervalMs: 100,
        refreshIntervalMs: 500,
        config: {
          canaryRollout: {
            features: { aiExtraction: { enabled: true, rolloutPercentage: 50, rolloutStrategy: 'gradual' } },
          },
        },
      });
      cleanups.push(() => service.close());
      const serviceErrors = new Set<string>();
      service.events.on('error', (error) => serviceErrors.add(error.code));
      const traffic = new ServiceTraffic(service, 'aiExtraction', USERS);
      await sleep(300);

      await server.stop();
      const trackedBefore = traffic.tracked;
      const {
        codes,
        calls,
        slowestMs: slowest,
      } = await probeDuring(OUTAGE_MS, [
        () => store.readState(),
        () => store.addMetrics([bucket({ feature: 'direct', calls: 1 })]),
        () => peer.putFeature(feature({ rolloutPercentage: 90 }), created.version),
      ]);
      expect(codes).toEqual(new Set(['STORE_UNAVAILABLE']));
      expect(calls).toBeGreaterThan(60);
      // Fail fast: nothing waits for the timeout while the server is known to be gone.
      expect(slowest).toBeLessThan(200);
      expect(traffic.tracked - trackedBefore).toBeGreaterThan(USERS.length * 100);

      await server.restart();
      // The service seeded its config feature too: `search` must be exactly as written.
      const search = async () => (await store.readState()).features.find((f) => f.name === 'search');
      await vi.waitFor(async () => expect(await search()).toEqual(created), {
        timeout: 5000,
        interval: 50,
      });
      expect(await store.getUserByEmail(registered.email)).toEqual(registered);
      // Only the direct flush made before the outage counts: no refused one was applied later.
      expect((await store.readMetrics(0, ['direct'])).map((b) => b.calls)).toEqual([10]);

      // The peer's subscription came back with the server.
      await vi.waitFor(async () => expect(await codeOf(peer.readState())).toBe('resolved'), {
        timeout: 5000,
      });
      await store.putFeature(feature({ rolloutPercentage: 40 }), created.version);
      const version = (await store.readState()).version;
      await vi.waitFor(() => expect(heard).toContain(version), { timeout: 5000, interval: 10 });

      await sleep(500);
      await traffic.stop();
      expect(traffic.exceptions).toBe(0);
      expect(traffic.changedAnswers).toBe(0);
      expect(serviceErrors).toEqual(new Set(['STORE_UNAVAILABLE']));
      // Every counted call reaches Redis exactly once when the buffered flushes go through.
      await vi.waitFor(
        async () => {
          await service.flush();
          const stored = (await store.readMetrics(0, ['aiExtraction'])).reduce((n, b) => n + b.calls, 0);
          expect(stored).toBe(traffic.tracked);
        },
        { timeout: 10_000, interval: 200 },
      );
    }, 40_000);
  },
  { ownServer: true, server: { persistent: true } },
);
