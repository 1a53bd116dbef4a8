import { TcpProxy } from '@canary-rollout/storage-test-suite';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../src/index';
import { resolveOptions } from '../src/options';
import { codeOf, feature } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';
import { freePort, hasRedisServer, startRedisServer } from './helpers/redis-server';

describe('options', () => {
  it('rejects values that cannot work with InvalidArgumentError naming the option', () => {
    const cases: RedisStoreOptions[] = [
      { namespace: '' },
      { appName: 'a/b' },
      { appName: 't', commandTimeoutMs: 0 },
      { appName: 't', connectTimeoutMs: -1 },
      { appName: 't', maxPendingCommands: 1.5 },
      { appName: 't', maxLogEntries: Number.NaN },
      { appName: 't', metricsRetentionMs: 0 },
      { appName: 't', pollIntervalMs: -5 },
      { appName: 't', client: new Redis({ lazyConnect: true }), url: 'redis://127.0.0.1:1' },
    ];
    for (const options of cases) {
      let error: unknown;
      try {
        new RedisStore(options);
      } catch (caught) {
        error = caught;
      }
      expect((error as { code?: string }).code, JSON.stringify(Object.keys(options))).toBe(
        'INVALID_ARGUMENT',
      );
      expect((error as Error).message).toMatch(/^@canary-rollout\/storage-redis: /);
    }
  });

  it('takes the namespace from appName or CANARY_ROLLOUT_APP, and refuses to guess one', () => {
    const saved = process.env['CANARY_ROLLOUT_APP'];
    try {
      delete process.env['CANARY_ROLLOUT_APP'];
      expect(() => new RedisStore({ url: 'redis://127.0.0.1:1' })).toThrow(
        /^@canary-rollout\/storage-redis: the store needs to know whose state it keeps: pass \{ appName: 'my-app' \} or \{ namespace \}, or set CANARY_ROLLOUT_APP$/,
      );
      expect(resolveOptions({ appName: 'billing' }).namespace).toBe('billing');
      process.env['CANARY_ROLLOUT_APP'] = 'search';
      expect(resolveOptions({}).namespace).toBe('search');
      expect(resolveOptions({ namespace: 'ns', appName: 'x' }).namespace).toBe('ns');
    } finally {
      if (saved === undefined) delete process.env['CANARY_ROLLOUT_APP'];
      else process.env['CANARY_ROLLOUT_APP'] = saved;
    }
  });

  it('fails calls made before open() with StoreUnavailableError', async () => {
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', appName: 'test' });
    expect(await codeOf(store.readState())).toBe('STORE_UNAVAILABLE');
    await store.close();
  });

  it('has the public types it documents', () => {
    expectTypeOf<RedisStoreOptions['client']>().toEqualTypeOf<
      import('ioredis').Redis | import('ioredis').Cluster | undefined
    >();
    expectTypeOf<RedisStore['pendingCommands']>().toEqualTypeOf<number>();
    expectTypeOf<RedisStore>().toHaveProperty('rollback');
  });
});

describe('open() with Redis unreachable', () => {
  it('fails with StoreUnavailableError after connectTimeoutMs when nothing listens, without the password', async () => {
    const port = await freePort();
    const store = new RedisStore({
      url: `redis://:s3cret-pass@127.0.0.1:${port}`,
      appName: 'test',
      connectTimeoutMs: 400,
    });
    const started = performance.now();
    const error = (await store.open().catch((e: unknown) => e)) as Error & { code?: string };
    const elapsed = performance.now() - started;
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('connectTimeoutMs');
    expect(error.message).not.toContain('s3cret');
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(1200);
    // Nothing keeps retrying in the background.
    await store.close();
  });

  it.skipIf(!hasRedisServer())(
    'fails within the bound when the server accepts but never answers',
    async () => {
      const server = await startRedisServer();
      const proxy = await new TcpProxy(server.host, server.port).start();
      try {
        proxy.stall();
        const store = new RedisStore({ url: proxy.url('redis'), appName: 'test', connectTimeoutMs: 400 });
        const started = performance.now();
        expect(await codeOf(store.open())).toBe('STORE_UNAVAILABLE');
        expect(performance.now() - started).toBeLessThan(1200);
        await store.close();
      } finally {
        await proxy.close();
        await server.dispose();
      }
    },
  );

  it.skipIf(!hasRedisServer())('opens when Redis comes up within connectTimeoutMs', async () => {
    const port = await freePort();
    const store = new RedisStore({
      url: `redis://127.0.0.1:${port}`,
      appName: 'test',
      connectTimeoutMs: 8000,
    });
    const opening = store.open();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const server = await startRedisServer({ port });
    try {
      await opening;
      expect((await store.readState()).features).toEqual([]);
    } finally {
      await store.close();
      await server.dispose();
    }
  });
});

describeWithRedis('an app-supplied client', (target) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is used but never closed; the pub/sub duplicate is the store’s and is closed by close()', async () => {
    const client = new Redis(target().url, { connectionName: 'app' });
    const observer = new Redis(target().url);
    cleanups.push(async () => {
      await client.quit();
      await observer.quit();
    });
    const namespace = freshNamespace('client');
    const store = new RedisStore({ client, namespace });
    const other = new RedisStore({ url: target().url, namespace });
    cleanups.push(() => other.close());
    await store.open();
    await other.open();
    const names = async () =>
      String(await observer.client('LIST'))
        .split('\n')
        .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
        .filter((name) => name.startsWith('app'));
    expect((await names()).sort()).toEqual(['app', 'app:changes']);

    const heard: unknown[] = [];
    store.subscribe((change) => heard.push(change));
    await other.putFeature(feature(), null);
    await expect.poll(() => heard.length, { timeout: 5000 }).toBeGreaterThan(0);

    await store.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await expect.poll(names, { timeout: 2000 }).toEqual(['app']);
  });
});
