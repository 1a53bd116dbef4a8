import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { feature, T0 } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('commands of administrative writes', (target) => {
  let admin: Redis;
  let store: RedisStore;
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(async () => {
    await admin.quit();
  });

  /** The commands `action` sends, as MONITOR sees them (not those run inside scripts). */
  async function commandsOf(action: () => Promise<unknown>): Promise<string[]> {
    const monitor = await admin.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua')) seen.push(String(args[0]).toLowerCase());
    });
    try {
      // MONITOR only shows commands issued after it started; a PING marks that point.
      await admin.ping('start');
      await expect.poll(() => seen.includes('ping'), { timeout: 2000 }).toBe(true);
      seen.length = 0;
      await action();
      await admin.ping('end');
      await expect.poll(() => seen.at(-1), { timeout: 2000 }).toBe('ping');
      return seen.slice(0, -1);
    } finally {
      monitor.disconnect();
    }
  }

  async function openWithFeatures(): Promise<void> {
    store = new RedisStore({ url: target().url, namespace: freshNamespace('admin'), pollIntervalMs: 0 });
    await store.open();
    for (const name of ['warm-up', 'search']) await store.putFeature(feature({ name }), null);
    // Loads the scripts once, so EVALSHA finds them.
    await store.addBetaMember('warm-up', 'someone');
    await store.rollback('warm-up', { reason: 'warm-up', source: 'manual', at: T0 });
  }

  it('adds a beta member in two commands: one read of the feature and its list, one commit', async () => {
    await openWithFeatures();
    const sent = await commandsOf(() => store.addBetaMember('search', 'user-1'));
    expect(sent).toEqual(['evalsha', 'evalsha']);
    expect((await store.readState()).beta['search']).toEqual(['user-1']);
  });

  it('rolls back in two commands: one read of the feature and its list, one commit', async () => {
    await openWithFeatures();
    await store.addBetaMember('search', 'user-1');
    const sent = await commandsOf(() =>
      store.rollback('search', { reason: 'errors', source: 'manual', at: T0 + 1 }),
    );
    expect(sent).toEqual(['evalsha', 'evalsha']);
    const state = await store.readState();
    expect(state.features.find((f) => f.name === 'search')?.rolloutPercentage).toBe(0);
    expect(state.beta['search'] ?? []).toEqual([]);
  });
});
