import { describeDriverConformance } from '@canary-rollout/storage-test-suite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisDriver } from '../src/internal/redis-driver';
import { resolveOptions } from '../src/options';
import { logReadCounter } from './helpers/log-reads';
import { dropNamespace } from './helpers/namespace-data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('RedisDriver on one redis-server', (target) => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterAll(async () => {
    await admin.quit();
  });

  describeDriverConformance(
    'RedisDriver',
    async () => {
      const options = { url: target().url, namespace: freshNamespace('driver') };
      const make = () => new RedisDriver(resolveOptions(options), options);
      const reads = logReadCounter(target().url, options.namespace);
      return {
        driver: make(),
        peer: async () => make(),
        logEntriesRead: () => reads.read(),
        cleanup: async () => {
          await reads.stop();
          await dropNamespace(admin, options.namespace);
        },
      };
    },
    { changeTimeoutMs: 5000 },
  );
});
