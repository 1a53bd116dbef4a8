import { describeDriverConformance, describeStoreConformance } from '@canary-rollout/storage-test-suite';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { KeyLayout } from '../src/internal/keys';
import { RedisDriver } from '../src/internal/redis-driver';
import { resolveOptions } from '../src/options';
import { everythingOnServer } from './helpers/at-rest';
import { feature } from './helpers/data';
import { corruptNamespace, dropNamespace, keysOf } from './helpers/namespace-data';
import { canStartCluster, type RedisCluster, startRedisCluster } from './helpers/redis-cluster';
import { freshNamespace } from './helpers/redis-env';
import { keySlot } from './helpers/slot';

// Starting three servers and joining them takes about two seconds here, so the whole suite also
// runs on a real Cluster. Where redis-cli is missing, key-layout.test.ts proves the one-slot layout.
const run = canStartCluster() ? describe : describe.skip;
if (!canStartCluster())
  console.warn('[storage-redis] skipping the Redis Cluster suite: redis-server/redis-cli not on PATH');

run('RedisStore on a 3-node Redis Cluster', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  const clients = new Set<Cluster>();
  const connect = () => {
    const client = new Cluster([...cluster.nodes]);
    clients.add(client);
    return client;
  };
  beforeAll(async () => {
    cluster = await startRedisCluster();
    admin = new Cluster([...cluster.nodes]);
  }, 30_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    admin?.disconnect();
    await cluster?.dispose();
  });

  it('keeps a namespace in one slot and on one node of the cluster', async () => {
    const namespace = freshNamespace('cluster');
    const client = connect();
    const store = new RedisStore({ client, namespace });
    await store.open();
    try {
      await store.putFeature(feature(), null);
      await store.addBetaMember('search', 'user-1');
      await store.registerUser({ id: 'u1', email: 'a@example.com', name: 'A', interests: [], createdAt: 1 });
      const keys = await keysOf(admin, namespace);
      expect(keys.length).toBeGreaterThan(4);
      expect(new Set(keys.map(keySlot))).toEqual(
        new Set([keySlot(new KeyLayout(namespace).collection('features'))]),
      );
      // Redis itself agrees with the slot computed by the test.
      expect(await admin.cluster('KEYSLOT', keys[0]!)).toBe(keySlot(keys[0]!));
    } finally {
      await store.close();
    }
  });

  describeStoreConformance(
    'RedisStore with a Cluster client',
    async () => {
      const namespace = freshNamespace('cluster-suite');
      // The store and its peer each get their own Cluster client, as two processes would.
      return {
        store: new RedisStore({ client: connect(), namespace }),
        peer: async () => new RedisStore({ client: connect(), namespace }),
        corrupt: (what) => corruptNamespace(admin, namespace, what),
        // Every key and value on every master: replicas hold copies of the same.
        atRest: async () => Buffer.concat(await Promise.all(admin.nodes('master').map(everythingOnServer))),
        cleanup: async () => {
          await dropNamespace(admin, namespace);
          for (const client of clients) client.disconnect();
          clients.clear();
        },
      };
    },
    { changeTimeoutMs: 5000 },
  );

  describeDriverConformance(
    'RedisDriver with a Cluster client',
    async () => {
      const namespace = freshNamespace('cluster-driver');
      const make = () => {
        const options = { client: connect(), namespace };
        return new RedisDriver(resolveOptions(options), options);
      };
      return {
        driver: make(),
        peer: async () => make(),
        cleanup: async () => {
          await dropNamespace(admin, namespace);
          for (const client of clients) client.disconnect();
          clients.clear();
        },
      };
    },
    { changeTimeoutMs: 5000 },
  );
});
