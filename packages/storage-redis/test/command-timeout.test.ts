import { TcpProxy } from '@canary-rollout/storage-test-suite';
import { Redis } from 'ioredis';
import { afterEach, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index';
import { bucket, codeOf, feature, user } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

const BOUND = 300;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK = 250;

describeWithRedis(
  'every call settles within commandTimeoutMs',
  (target) => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      target().server?.resume();
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    /** One call of each kind but addMetrics (see below), all started at once. */
    const everyKindOfCall = (store: RedisStore) => [
      store.readState(),
      store.putFeature(feature({ rolloutPercentage: 50 }), 1),
      store.readMetrics(0),
      store.rollback('search', { reason: 'test', source: 'manual', at: Date.now() }),
      store.registerUser(user()),
      store.listUsers(),
      store.appendLog('alerts', { at: Date.now() }),
      store.addToBlacklist('user-x'),
    ];

    async function settleAll(calls: Promise<unknown>[]): Promise<{ codes: string[]; elapsed: number }> {
      const started = performance.now();
      const codes = await Promise.all(calls.map((call) => codeOf(call)));
      return { codes, elapsed: performance.now() - started };
    }

    it('rejects every call with StoreUnavailableError while the server is frozen (SIGSTOP), none left pending', async () => {
      const server = target().server!;
      const store = new RedisStore({
        url: server.url,
        namespace: freshNamespace('frozen'),
        commandTimeoutMs: BOUND,
      });
      cleanups.push(() => store.close());
      await store.open();
      await store.putFeature(feature(), null);

      server.pause();
      const { codes, elapsed } = await settleAll(everyKindOfCall(store));
      expect(new Set(codes)).toEqual(new Set(['STORE_UNAVAILABLE']));
      expect(elapsed).toBeLessThan(BOUND + SLACK);
      await vi.waitFor(() => expect(store.pendingCommands).toBe(0), { timeout: SLACK, interval: 5 });

      server.resume();
      await vi.waitFor(async () => expect((await store.readState()).features).toHaveLength(1), {
        timeout: 5000,
        interval: 50,
      });
    });

    it('holds a flush that got no answer and applies it exactly once, even when Redis runs it late', async () => {
      const server = target().server!;
      const store = new RedisStore({
        url: server.url,
        namespace: freshNamespace('held'),
        commandTimeoutMs: BOUND,
      });
      cleanups.push(() => store.close());
      await store.open();
      await store.addMetrics([bucket({ calls: 10 })]);

      server.pause();
      // Sent, then no answer: the outcome is unknown, so the store keeps the flush and resolves
      // (rejecting would make the caller send it again).
      for (const calls of [1, 2]) {
        const started = performance.now();
        expect(await codeOf(store.addMetrics([bucket({ calls })]))).toBe('resolved');
        expect(performance.now() - started).toBeLessThan(BOUND + SLACK);
      }
      // Redis wakes up and runs both calls it had received: the first flush, then both again.
      server.resume();
      await store.addMetrics([bucket({ calls: 100 })]);
      expect((await store.readMetrics(0)).map((b) => b.calls)).toEqual([113]);
    });

    it('applies a flush once when Redis ran it but the reply was lost with the connection', async () => {
      const server = target().server!;
      const proxy = await new TcpProxy(server.host, server.port).start();
      cleanups.push(() => proxy.close());
      const namespace = freshNamespace('lost-reply');
      const store = new RedisStore({ url: proxy.url('redis'), namespace, commandTimeoutMs: 2000 });
      const observer = new RedisStore({ url: server.url, namespace });
      cleanups.push(
        () => store.close(),
        () => observer.close(),
      );
      await store.open();
      await observer.open();
      await store.addMetrics([bucket({ calls: 10 })]);
      const total = async () => (await observer.readMetrics(0)).reduce((n, b) => n + b.calls, 0);

      proxy.dropReplies();
      const flushing = store.addMetrics([bucket({ calls: 1 })]);
      await vi.waitFor(async () => expect(await total()).toBe(11), { timeout: 2000, interval: 10 });
      proxy.cut(); // the connection closes with the reply still owed
      expect(await codeOf(flushing)).toBe('resolved');

      proxy.restore();
      await vi.waitFor(async () => expect(await codeOf(store.readState())).toBe('resolved'), {
        timeout: 5000,
      });
      await store.addMetrics([bucket({ calls: 100 })]);
      expect(await total()).toBe(111);
    });

    it('rejects within the bound on a connection that silently stops delivering, and recovers', async () => {
      const server = target().server!;
      const proxy = await new TcpProxy(server.host, server.port).start();
      cleanups.push(() => proxy.close());
      const store = new RedisStore({
        url: proxy.url('redis'),
        namespace: freshNamespace('stalled'),
        commandTimeoutMs: BOUND,
        pollIntervalMs: 100,
      });
      cleanups.push(() => store.close());
      await store.open();
      await store.putFeature(feature(), null);

      proxy.stall();
      const { codes, elapsed } = await settleAll(everyKindOfCall(store));
      expect(new Set(codes)).toEqual(new Set(['STORE_UNAVAILABLE']));
      expect(elapsed).toBeLessThan(BOUND + SLACK);

      // Unanswered flushes are held, not failed, and land once when the path comes back.
      expect(await codeOf(store.addMetrics([bucket({ calls: 5 })]))).toBe('resolved');
      proxy.restore();
      await vi.waitFor(async () => expect((await store.readState()).features).toHaveLength(1), {
        timeout: 5000,
        interval: 50,
      });
      await store.addMetrics([bucket({ calls: 1 })]);
      expect((await store.readMetrics(0)).map((b) => b.calls)).toEqual([6]);
    });

    it('bounds an app-supplied client too, and fails fast beyond maxPendingCommands', async () => {
      const server = target().server!;
      // The app's client queues offline and has no command timeout: the store bounds it anyway.
      const client = new Redis(server.url);
      cleanups.push(async () => {
        client.disconnect();
      });
      const store = new RedisStore({
        client,
        namespace: freshNamespace('app-client'),
        commandTimeoutMs: BOUND,
        maxPendingCommands: 3,
      });
      cleanups.push(() => store.close());
      await store.open();

      server.pause();
      const waiting = [store.readState(), store.listUsers(), store.listFeedback()];
      let settledBefore = 0;
      for (const call of waiting) void call.catch(() => settledBefore++);
      // Refused at once for the full queue: before any queued call reached its timeout (order,
      // not a wall-clock bound, which a loaded machine can stretch past any small figure).
      expect(await codeOf(store.readState())).toBe('STORE_UNAVAILABLE');
      expect(settledBefore).toBe(0);
      const { codes, elapsed } = await settleAll(waiting);
      expect(codes).toEqual(['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
      expect(elapsed).toBeLessThan(BOUND + SLACK);

      server.resume();
      await vi.waitFor(() => expect(store.pendingCommands).toBe(0), { timeout: 5000, interval: 10 });
      expect((await store.readState()).features).toEqual([]);
    });
  },
  { ownServer: true },
);
