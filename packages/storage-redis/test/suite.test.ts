import { describeStoreConformance } from '@canary-rollout/storage-test-suite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../src/index';
import { everythingOnServer } from './helpers/at-rest';
import { corruptNamespace, dropNamespace } from './helpers/namespace-data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('RedisStore on one redis-server', (target) => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterAll(async () => {
    await admin.quit();
  });

  // A fresh namespace per test: the data of one test is invisible to the next.
  describeStoreConformance(
    'RedisStore',
    async () => {
      const namespace = freshNamespace('suite');
      const make = () => new RedisStore({ url: target().url, namespace });
      return {
        store: make(),
        peer: async () => make(),
        corrupt: (what) => corruptNamespace(admin, namespace, what),
        atRest: () => everythingOnServer(admin),
        // Every key of the server, as FLUSHALL does (the tests of this block run one at a time).
        wipe: async () => {
          await admin.flushall();
        },
        cleanup: () => dropNamespace(admin, namespace),
      };
    },
    { changeTimeoutMs: 5000 },
  );
});
