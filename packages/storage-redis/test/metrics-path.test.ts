import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
// The scenarios live with the monitor they exercise; every store runs them.
import { describeMetricsPath } from '../../monitoring/test/scenarios/metrics-path';
import { RedisStore } from '../src/index';
import { dropNamespace } from './helpers/namespace-data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('RedisStore metrics path', (target) => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterAll(async () => {
    await admin.quit();
  });

  describeMetricsPath('RedisStore', async () => {
    const namespace = freshNamespace('metrics-path');
    return {
      handle: () => new RedisStore({ url: target().url, namespace }),
      cleanup: () => dropNamespace(admin, namespace),
    };
  });
});
