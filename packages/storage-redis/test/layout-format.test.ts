import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { KeyLayout } from '../src/internal/keys';
import { bucket, codeOf, feature } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('layout format', (target) => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterAll(async () => {
    await admin.quit();
  });

  it('marks a namespace with format 1 at its first write, metrics included', async () => {
    for (const write of [
      (store: RedisStore) => store.putFeature(feature(), null),
      (store: RedisStore) => store.addMetrics([bucket()]),
    ]) {
      const namespace = freshNamespace('format');
      const store = new RedisStore({ url: target().url, namespace });
      await store.open();
      try {
        expect(await admin.get(new KeyLayout(namespace).format)).toBeNull();
        await write(store);
        expect(await admin.get(new KeyLayout(namespace).format)).toBe('1');
      } finally {
        await store.close();
      }
    }
  });

  it('refuses a namespace of another format at open and on every call, and leaves it as it was', async () => {
    const namespace = freshNamespace('format');
    const keys = new KeyLayout(namespace);
    const store = new RedisStore({ url: target().url, namespace });
    await store.open();
    try {
      await store.putFeature(feature(), null);
      await admin.set(keys.format, '2');
      const stored = await admin.hgetall(keys.collection('features'));
      for (const call of [
        store.readState(),
        store.putFeature(feature({ name: 'ocr' }), null),
        store.addMetrics([bucket()]),
        store.readMetrics(0),
        store.listLogs('alerts'),
      ]) {
        expect(await codeOf(call)).toBe('STORE_DATA_CORRUPTED');
      }
      expect(await admin.hgetall(keys.collection('features'))).toEqual(stored);
      const other = new RedisStore({ url: target().url, namespace });
      const error = (await other.open().catch((e: unknown) => e)) as Error & { code?: string };
      expect(error.code).toBe('STORE_DATA_CORRUPTED');
      expect(error.message).toContain(keys.format);
      await other.close();
    } finally {
      await store.close();
    }
  });
});
