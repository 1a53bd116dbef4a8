import { afterEach, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index';
import { bucket, codeOf, feature, sleep, user } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

const OUTAGE_MS = 5000;

describeWithRedis(
  'redis-server stopped for 5 seconds and restarted with its data',
  (target) => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it('fails fast with StoreUnavailableError during the outage, then serves the same data and changes again', async () => {
      const server = target().server!;
      const namespace = freshNamespace('outage');
      const store = new RedisStore({ url: server.url, namespace, commandTimeoutMs: 1000 });
      const peer = new RedisStore({ url: server.url, namespace, commandTimeoutMs: 1000, pollIntervalMs: 0 });
      cleanups.push(
        () => store.close(),
        () => peer.close(),
      );
      await store.open();
      await peer.open();
      const created = await store.putFeature(feature(), null);
      const registered = user();
      await store.registerUser(registered);
      await store.addMetrics([bucket()]);
      const heard: number[] = [];
      peer.subscribe((change) => heard.push(change.version ?? -1));

      await server.stop();
      const outageStarted = Date.now();
      const codes = new Set<string>();
      let calls = 0;
      let slowest = 0;
      while (Date.now() - outageStarted < OUTAGE_MS) {
        for (const call of [
          () => store.readState(),
          () => store.addMetrics([bucket({ calls: 1 })]),
          () => peer.putFeature(feature({ rolloutPercentage: 90 }), created.version),
        ]) {
          const started = performance.now();
          codes.add(await codeOf(call()));
          slowest = Math.max(slowest, performance.now() - started);
          calls += 1;
        }
        await sleep(100);
      }
      expect(codes).toEqual(new Set(['STORE_UNAVAILABLE']));
      expect(calls).toBeGreaterThan(60);
      // Fail fast: nothing waits for the timeout while the server is known to be gone.
      expect(slowest).toBeLessThan(200);

      await server.restart();
      await vi.waitFor(async () => expect((await store.readState()).features).toEqual([created]), {
        timeout: 5000,
        interval: 50,
      });
      expect(await store.getUserByEmail(registered.email)).toEqual(registered);
      // Only the flush made before the outage counts: none of the failed ones was applied later.
      expect((await store.readMetrics(0)).map((b) => b.calls)).toEqual([10]);

      // The peer's subscription came back with the server.
      await vi.waitFor(async () => expect(await codeOf(peer.readState())).toBe('resolved'), {
        timeout: 5000,
      });
      await store.putFeature(feature({ rolloutPercentage: 40 }), created.version);
      const version = (await store.readState()).version;
      await vi.waitFor(() => expect(heard).toContain(version), {
        timeout: 5000,
        interval: 10,
      });
    }, 30_000);
  },
  { ownServer: true, server: { persistent: true } },
);
