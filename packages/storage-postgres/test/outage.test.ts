import { CanaryRolloutService } from '@canary-rollout/core';
import { probeDuring, ServiceTraffic, TcpProxy } from '@canary-rollout/storage-test-suite';
import { afterEach, expect, it, vi } from 'vitest';
import { bucket, feature, sleep, user } from '../../storage-redis/test/helpers/data';
import { PostgresStore } from '../src/index';
import { describeWithPostgres, freshNamespace, SERVER, urlOf } from './helpers/pg-env';

const OUTAGE_MS = 5000;
const USERS = Array.from({ length: 50 }, (_, i) => `user-${i}`);

describeWithPostgres('PostgreSQL out of reach for 5 seconds under load', (db) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /*
   * The database stays up; the network between it and the app goes away: `cut` closes every
   * connection and refuses new ones, `stall` keeps them open and delivers nothing (and delivers
   * what was sent when it comes back, so a flush may land after its sender gave up on it).
   */
  it.each(['cut', 'stall'] as const)(
    'network %s: the service answers the same, reports the fault, and stores every counted call once',
    async (mode) => {
      const proxy = await new TcpProxy(SERVER.host, SERVER.port).start();
      cleanups.push(() => proxy.close());
      const namespace = freshNamespace('outage');
      const through = urlOf(db().name, proxy.port);
      const direct = new PostgresStore({ connectionString: db().url, namespace, pollIntervalMs: 0 });
      // Background folds fail during the outage too; they are reported here, not as process warnings.
      const warnings: string[] = [];
      const onWarning = (message: string) => warnings.push(message);
      const store = new PostgresStore({
        connectionString: through,
        namespace,
        statementTimeoutMs: 500,
        pollIntervalMs: 500,
        onWarning,
      });
      const serviceStore = new PostgresStore({
        connectionString: through,
        namespace,
        statementTimeoutMs: 500,
        pollIntervalMs: 500,
        onWarning,
      });
      cleanups.push(
        () => direct.close(),
        () => store.close(),
        () => serviceStore.close(),
      );
      await direct.open();
      await store.open();
      const created = await direct.putFeature(feature(), null);
      const registered = user();
      await direct.registerUser(registered);
      await store.addMetrics([bucket({ feature: 'direct' })]);
      const heard: number[] = [];
      store.subscribe((change) => heard.push(change.version ?? -1));

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
      const messages = new Set<string>();
      service.events.on('error', (error) => {
        serviceErrors.add(error.code);
        messages.add(error.message);
      });
      const traffic = new ServiceTraffic(service, 'aiExtraction', USERS);
      await sleep(300);

      if (mode === 'cut') proxy.cut();
      else proxy.stall();
      const trackedBefore = traffic.tracked;
      const { codes, slowestMs: slowest } = await probeDuring(OUTAGE_MS, [
        () => store.readState(),
        (calls) =>
          store.addMetrics([bucket({ feature: 'direct', calls: 1 })], { writer: 'direct', seq: 1 + calls }),
        () => store.putFeature(feature({ rolloutPercentage: 90 }), created.version),
      ]);
      // A change made meanwhile by a process that still reaches the database.
      const moved = await direct.putFeature(feature({ rolloutPercentage: 40 }), created.version);
      expect(codes).toEqual(new Set(['STORE_UNAVAILABLE']));
      // Every call settles within statementTimeoutMs (500), with room for a loaded machine.
      expect(slowest).toBeLessThan(2000);
      expect(traffic.tracked - trackedBefore).toBeGreaterThan(USERS.length * 50);

      proxy.restore();
      const search = async () => (await store.readState()).features.find((f) => f.name === 'search');
      await vi.waitFor(async () => expect(await search()).toEqual(moved), { timeout: 10_000, interval: 100 });
      expect(await store.getUserByEmail(registered.email)).toEqual(registered);
      // The handle hears of the change made while it was cut off.
      await vi.waitFor(() => expect(Math.max(0, ...heard)).toBeGreaterThanOrEqual(moved.version), {
        timeout: 10_000,
        interval: 20,
      });

      await sleep(500);
      await traffic.stop();
      expect(traffic.exceptions).toBe(0);
      expect(traffic.changedAnswers).toBe(0);
      expect(serviceErrors).toEqual(new Set(['STORE_UNAVAILABLE']));
      for (const message of messages) expect(message).not.toContain(registered.email);
      for (const warning of warnings) {
        expect(warning).toMatch(/^@canary-rollout\/storage-postgres: (foldMetrics|pruneMetrics) failed: /);
        expect(warning).not.toContain(registered.email);
      }
      // Every counted call is stored exactly once when the pending flushes go through.
      await vi.waitFor(
        async () => {
          await service.flush();
          const stored = (await direct.readMetrics(0, ['aiExtraction'])).reduce((n, b) => n + b.calls, 0);
          expect(stored).toBe(traffic.tracked);
        },
        { timeout: 20_000, interval: 200 },
      );
      // The service's snapshot caught up with the change made during the outage.
      await vi.waitFor(() => expect(service.getFeature('search')?.rolloutPercentage).toBe(40), {
        timeout: 10_000,
      });
    },
    60_000,
  );
});
