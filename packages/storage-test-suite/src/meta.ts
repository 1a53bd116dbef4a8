import { describe, expect, it } from 'vitest';
import { expectCode } from './internal/assertions';
import { makeFeature } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** readMeta, putMeta and deleteMeta: compare-and-set records apart from the features. */
export function describeMeta(ctx: SuiteContext): void {
  describe('meta records', () => {
    it('creates a record at version 1 and updates it by compare-and-set', async () => {
      const { store } = ctx;
      const value = { since: 1_700_000_000_000, features: ['search'], note: 'Zoë 👍', none: null };
      expect(await store.putMeta('incident:fleet', value, null)).toEqual({
        key: 'incident:fleet',
        value,
        version: 1,
      });
      const next = await store.putMeta('incident:fleet', { ...value, features: [] }, 1);
      expect(next.version).toBe(2);
      const peer = await ctx.peer();
      expect(await peer.readMeta()).toEqual([
        { key: 'incident:fleet', value: { ...value, features: [] }, version: 2 },
      ]);
    });

    it('writes a feature only while the meta records it expects are as read (putFeature expectMeta)', async () => {
      const { store } = ctx;
      const peer = await ctx.peer();
      await store.putFeature(makeFeature({ rolloutPercentage: 10 }), null);
      // A mark written by another process after it was read (absent then): the raise is not written.
      await peer.putMeta('health:search', { unhealthySince: 5 }, null);
      await expectCode(
        store.putFeature(makeFeature({ rolloutPercentage: 20 }), 1, {
          expectMeta: [{ key: 'health:search', version: null }],
        }),
        'CONFLICT',
      );
      expect((await peer.readState()).features[0]).toMatchObject({ rolloutPercentage: 10, version: 1 });
      const written = await store.putFeature(makeFeature({ rolloutPercentage: 20 }), 1, {
        expectMeta: [{ key: 'health:search', version: 1 }],
      });
      expect(written.version).toBe(2);
      await peer.deleteMeta('health:search', 1);
      await expectCode(
        store.putFeature(makeFeature({ rolloutPercentage: 30 }), 2, {
          expectMeta: [{ key: 'health:search', version: 1 }],
        }),
        'CONFLICT',
      );
      await expectCode(
        store.putFeature(makeFeature({ rolloutPercentage: 30 }), 2, {
          expectMeta: [{ key: '', version: null }],
        }),
        'INVALID_ARGUMENT',
      );
      expect((await peer.readState()).features[0]).toMatchObject({ rolloutPercentage: 20, version: 2 });
    });

    it("deletes a feature's health mark with the feature, and nothing else", async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      await store.putFeature(makeFeature({ name: 'other' }), null);
      await store.putMeta('health:search', { healthySince: 5 }, null);
      await store.putMeta('health:other', { healthySince: 6 }, null);
      await store.putMeta('incident:search', { since: 7 }, null);
      expect(await store.deleteFeature('search')).toBe(true);
      const peer = await ctx.peer();
      expect((await peer.readMeta()).map((r) => r.key).sort()).toEqual(['health:other', 'incident:search']);
    });

    it('refuses a stale or a second creating write with CONFLICT and keeps what is stored', async () => {
      const { store } = ctx;
      await store.putMeta('health:search', 1, null);
      await store.putMeta('health:search', 2, 1);
      await expectCode(store.putMeta('health:search', 3, 1), 'CONFLICT');
      await expectCode(store.putMeta('health:search', 3, null), 'CONFLICT');
      await expectCode(store.putMeta('health:other', 3, 4), 'CONFLICT');
      expect(await store.readMeta()).toEqual([{ key: 'health:search', value: 2, version: 2 }]);
    });

    it('lets exactly one of two handles create a record', async () => {
      const peer = await ctx.peer();
      const results = await Promise.allSettled([
        ctx.store.putMeta('claim', 'a', null),
        peer.putMeta('claim', 'b', null),
      ]);
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(won).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect((lost?.reason as { code?: unknown } | undefined)?.code).toBe('CONFLICT');
      expect(await peer.readMeta('claim')).toEqual(won);
    });

    it('reads by prefix, sorted by key', async () => {
      const { store } = ctx;
      for (const key of ['health:b', 'incident:x', 'health:a', 'healthy'])
        await store.putMeta(key, key, null);
      expect((await store.readMeta('health:')).map((r) => r.key)).toEqual(['health:a', 'health:b']);
      expect((await store.readMeta()).map((r) => r.key)).toEqual([
        'health:a',
        'health:b',
        'healthy',
        'incident:x',
      ]);
      expect(await store.readMeta('none:')).toEqual([]);
    });

    it('keeps keys and value fields named like Object.prototype members as any other', async () => {
      const { store } = ctx;
      const names = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf'];
      for (const key of names) {
        await store.putMeta(key, JSON.parse(`{"${key}": {"x": 1}, "y": 2}`), null);
      }
      const peer = await ctx.peer();
      const read = await peer.readMeta();
      expect(read.map((r) => r.key)).toEqual([...names].sort());
      for (const record of read) {
        expect(Object.getPrototypeOf(record.value)).toBe(Object.prototype);
        expect(Object.keys(record.value as object)).toEqual([record.key, 'y']);
      }
      expect(await peer.deleteMeta('__proto__', 1)).toBe(true);
      expect(await store.readMeta('__')).toEqual([]);
    });

    it('deletes a record, at a given version or any', async () => {
      const { store } = ctx;
      expect(await store.deleteMeta('gone')).toBe(false);
      await store.putMeta('a', 1, null);
      await store.putMeta('b', 1, null);
      await store.putMeta('b', 2, 1);
      await expectCode(store.deleteMeta('b', 1), 'CONFLICT');
      expect(await store.deleteMeta('b', 2)).toBe(true);
      expect(await store.deleteMeta('a')).toBe(true);
      expect(await store.deleteMeta('a')).toBe(false);
      expect(await store.readMeta()).toEqual([]);
      // A record created again starts over.
      expect((await store.putMeta('a', 3, null)).version).toBe(1);
    });

    it('refuses values that are not JSON and bad keys with INVALID_ARGUMENT, storing nothing', async () => {
      const { store } = ctx;
      for (const value of [
        undefined,
        Number.NaN,
        Infinity,
        () => 1,
        new Date(0),
        new Map(),
        { a: undefined },
        [1n],
      ]) {
        await expectCode(store.putMeta('k', value, null), 'INVALID_ARGUMENT');
      }
      for (const key of ['', 'x'.repeat(257), '\ud800', 7 as unknown as string]) {
        await expectCode(store.putMeta(key, 1, null), 'INVALID_ARGUMENT');
      }
      await expectCode(store.putMeta('k', 1, 0), 'INVALID_ARGUMENT');
      expect(await store.readMeta()).toEqual([]);
    });

    it('leaves features and their versions alone', async () => {
      const { store } = ctx;
      const feature = await store.putFeature(makeFeature(), null);
      await store.putMeta('health:search', { unhealthySince: 5 }, null);
      await store.deleteMeta('health:search');
      expect((await store.readState()).features).toEqual([feature]);
    });

    it('hands out copies: changing a value read or written changes nothing stored', async () => {
      const { store } = ctx;
      const value = { list: [1] };
      const written = await store.putMeta('k', value, null);
      value.list.push(2);
      (written.value as { list: number[] }).list.push(3);
      const [read] = await store.readMeta();
      (read?.value as { list: number[] } | undefined)?.list.push(4);
      expect((await store.readMeta())[0]?.value).toEqual({ list: [1] });
    });
  });
}
