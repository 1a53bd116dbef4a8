import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { feature, T0 } from './helpers/data';
import { commandsOf } from './helpers/monitor';
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
    const sent = await commandsOf(admin, () => store.addBetaMember('search', 'user-1'));
    expect(sent).toEqual(['evalsha', 'evalsha']);
    expect((await store.readState()).beta['search']).toEqual(['user-1']);
  });

  it('rolls back in two commands: one read of the feature and its list, one commit', async () => {
    await openWithFeatures();
    await store.addBetaMember('search', 'user-1');
    const sent = await commandsOf(admin, () =>
      store.rollback('search', { reason: 'errors', source: 'manual', at: T0 + 1 }),
    );
    expect(sent).toEqual(['evalsha', 'evalsha']);
    const state = await store.readState();
    expect(state.features.find((f) => f.name === 'search')?.rolloutPercentage).toBe(0);
    expect(state.beta['search'] ?? []).toEqual([]);
  });
});
