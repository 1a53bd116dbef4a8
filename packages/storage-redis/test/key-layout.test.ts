import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { encodeKeyPart, KeyLayout } from '../src/internal/keys';
import { bucket, feature, T0, user } from './helpers/data';
import { keysOf } from './helpers/namespace-data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';
import { hashTag, keySlot } from './helpers/slot';

/** Every key (and the channel) a namespace can use, with awkward feature names and arms. */
function allKeys(layout: KeyLayout): string[] {
  return [
    layout.format,
    layout.version,
    layout.setVersions,
    layout.metricsIndex,
    layout.changes,
    ...['features', 'users', 'emails', 'feedback', 'meta', 'segments'].map((c) => layout.collection(c)),
    layout.log('alerts'),
    layout.log('health-reports'),
    layout.log('rollbacks'),
    layout.set('blacklist'),
    layout.set('beta:search'),
    layout.set('beta:a}b{c:d'),
    layout.metricBucket(layout.metricMember('search', 'variant:x', T0)),
    layout.metricsFlushed('handle:{1}'),
  ];
}

const awkward = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc.stringMatching(/^[{}:%a]{1,12}$/),
);

describe('key layout', () => {
  it('computes slots as Redis does', () => {
    // The test vector of the Redis Cluster specification.
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
  });

  it('puts every key of any namespace in one slot, tagged with the encoded namespace', () => {
    fc.assert(
      fc.property(awkward, (namespace) => {
        const keys = allKeys(new KeyLayout(namespace));
        for (const key of keys) expect(hashTag(key)).toBe(encodeKeyPart(namespace));
        expect(new Set(keys.map(keySlot)).size).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('gives different namespaces different hash tags, so no key of one can be a key of another', () => {
    fc.assert(
      fc.property(awkward, awkward, (a, b) => {
        fc.pre(a !== b);
        expect(hashTag(new KeyLayout(a).version)).not.toBe(hashTag(new KeyLayout(b).version));
      }),
      { numRuns: 300 },
    );
  });
});

describeWithRedis('key layout on a real server', (target) => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterAll(async () => {
    await admin.quit();
  });

  const suffix = freshNamespace('');
  // Names that would move keys or collide if they were used raw.
  const namespaces = ['a', 'a}', '{a}', 'a:b', 'a%3Ab', '}{', 'a:features'].map((n) => `${n}${suffix}`);

  async function fill(namespace: string, index: number) {
    const store = new RedisStore({ url: target().url, namespace });
    await store.open();
    try {
      const email = `Owner.${index}@Example.com`;
      const registered = user({ id: `id-${index}@not-an-email`, email });
      await store.registerUser(registered);
      await store.putFeature(feature({ name: 'search' }), null);
      await store.putFeature(feature({ name: `ns${index}` }), null);
      await store.addBetaMember('search', registered.id);
      await store.addToBlacklist(`blocked-${index}`);
      await store.appendFeedback({
        id: `fb-${index}`,
        userId: registered.id,
        feature: 'search',
        rating: 5,
        at: T0,
      });
      await store.addMetrics([bucket({ calls: index + 1 }), bucket({ arm: 'variant:x', calls: 1 })]);
      await store.appendLog('alerts', { at: T0, n: index });
      await store.appendLog('health-reports', { at: T0, n: index });
      await store.rollback('search', { reason: 'layout', source: 'manual', at: T0 });
      return email;
    } finally {
      await store.close();
    }
  }

  it('keeps namespaces with {, } and : apart, each in one slot, with no email in any key or field name', async () => {
    const emails: string[] = [];
    for (const [i, namespace] of namespaces.entries()) emails.push(await fill(namespace, i));

    const seen = new Set<string>();
    for (const [i, namespace] of namespaces.entries()) {
      const keys = await keysOf(admin, namespace);
      expect(keys.length).toBeGreaterThan(8);
      expect(new Set(keys.map(keySlot)).size, namespace).toBe(1);
      for (const key of keys) {
        expect(hashTag(key)).toBe(encodeKeyPart(namespace));
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        expect(key).not.toContain('@');
        for (const email of emails) expect(key.toLowerCase()).not.toContain(email.toLowerCase());
        // Field names and members are not keys, but they are just as visible in tooling.
        const type = await admin.type(key);
        const names =
          type === 'hash' ? await admin.hkeys(key) : type === 'set' ? await admin.smembers(key) : [];
        for (const name of names) expect(name.toLowerCase()).not.toContain(emails[i]!.toLowerCase());
      }

      const store = new RedisStore({ url: target().url, namespace });
      await store.open();
      try {
        const state = await store.readState();
        expect(state.blacklist).toEqual([`blocked-${i}`]);
        expect(state.features.map((f) => f.name).sort()).toEqual([`ns${i}`, 'search']);
        expect((await store.listUsers()).map((u) => u.email)).toEqual([emails[i]]);
        expect((await store.readMetrics(0, ['search'])).map((b) => b.calls)).toEqual([i + 1, 1]);
        expect(await store.listRollbacks()).toHaveLength(1);
      } finally {
        await store.close();
      }
    }
    // Every key of the database belongs to exactly one of the namespaces written.
    const everything = await admin.keys(`*${encodeKeyPart(suffix)}*`);
    expect(everything.sort()).toEqual([...seen].sort());
  });
});
