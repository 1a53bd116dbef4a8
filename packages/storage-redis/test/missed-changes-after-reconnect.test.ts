import { TcpProxy } from '@canary-rollout/storage-test-suite';
import { afterEach, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index';
import { codeOf, feature } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('changes made while a subscriber is cut off', (target) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('reports the latest version after reconnecting, 100 changes later, through the version check', async () => {
    const { hostname, port } = new URL(target().url);
    const proxy = await new TcpProxy(hostname, Number(port)).start();
    cleanups.push(() => proxy.close());
    const namespace = freshNamespace('missed');
    const writer = new RedisStore({ url: target().url, namespace });
    // No polling: only the reconnect path can find what pub/sub dropped.
    const reader = new RedisStore({ url: proxy.url('redis'), namespace, pollIntervalMs: 0 });
    cleanups.push(
      () => writer.close(),
      () => reader.close(),
    );
    await writer.open();
    await reader.open();

    const heard: number[] = [];
    reader.subscribe((change) => heard.push(change.version ?? -1));
    await writer.putFeature(feature(), null);
    const first = (await writer.readState()).version;
    await vi.waitFor(() => expect(heard).toContain(first), { timeout: 5000, interval: 5 });

    proxy.cut();
    expect(await codeOf(reader.readState())).toBe('STORE_UNAVAILABLE');
    for (let i = 0; i < 100; i++) await writer.addToBlacklist(`user-${i}`);
    const latest = (await writer.readState()).version;
    expect(latest).toBe(first + 100);
    expect(Math.max(...heard)).toBe(first);
    const heardBefore = heard.length;

    proxy.restore();
    await vi.waitFor(() => expect(heard.at(-1)).toBe(latest), { timeout: 8000, interval: 10 });
    // One report for the whole gap, not a replay of a hundred messages.
    expect(heard.length - heardBefore).toBeLessThanOrEqual(2);
    const state = await reader.readState();
    expect(state.version).toBe(latest);
    expect(state.blacklist).toHaveLength(100);

    // And the subscription itself is back: the next change arrives as a message.
    await writer.removeFromBlacklist('user-0');
    await vi.waitFor(() => expect(heard.at(-1)).toBe(latest + 1), { timeout: 5000, interval: 5 });
  });

  it('finds a change made between open() and the first message with the periodic check', async () => {
    const namespace = freshNamespace('poll');
    const writer = new RedisStore({ url: target().url, namespace });
    const reader = new RedisStore({ url: target().url, namespace, pollIntervalMs: 100 });
    cleanups.push(
      () => writer.close(),
      () => reader.close(),
    );
    await writer.open();
    await reader.open();
    const heard: number[] = [];
    reader.subscribe((change) => heard.push(change.version ?? -1));
    // Written behind the store's back (no message): only the poll can see it.
    const { Redis } = await import('ioredis');
    const admin = new Redis(target().url);
    cleanups.push(async () => {
      await admin.quit();
    });
    await admin.incr(`{${encodeURIComponent(namespace)}}:version`);
    await vi.waitFor(() => expect(heard).toEqual([1]), { timeout: 3000, interval: 10 });
  });
});
