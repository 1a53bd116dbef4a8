import type { DriverCollection } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import type { DriverContext } from './context';

/** A collection core does not use (yet): drivers store collections by name, as data. */
export const LATER = 'added-later' as DriverCollection;

/** A value with what JSON can hold: nesting, unicode, numbers at their limits, null, empty things. */
export const RICH = {
  name: 'Zoë Ångström — 名前 👍',
  quote: 'say "hi"\n\tand \\ go',
  n: [0, -1, 1.5, Number.MAX_SAFE_INTEGER, 1e-7],
  flags: { on: true, off: false, none: null },
  empty: { list: [], map: {} },
  deep: { a: { b: { c: { d: ['e'] } } } },
};

/** open, close, read and get of collection entries. */
export function describeDriverEntries(ctx: DriverContext): void {
  describe('entries', () => {
    it('opens and closes idempotently', async () => {
      await ctx.driver.open();
      const peer = await ctx.peer();
      await peer.close();
      await peer.close();
      await peer.open();
    });

    it('reads empty collections, and a set asked for by name at version 0', async () => {
      const snap = await ctx.driver.read({ collections: ['features', 'users'], sets: ['blacklist'] });
      expect(snap.collections.features).toEqual([]);
      expect(snap.collections.users).toEqual([]);
      expect(snap.sets['blacklist']).toEqual({ members: [], version: 0 });
      expect(Number.isSafeInteger(snap.version)).toBe(true);
      expect(await ctx.driver.get('features', ['search'])).toEqual([undefined]);
    });

    it('puts, replaces and deletes entries with versions 1, 2 and gone; a re-created entry starts at 1', async () => {
      const { driver } = ctx;
      await driver.commit({
        operations: [{ op: 'put', collection: 'features', key: 'search', value: { v: 1 } }],
      });
      expect(await driver.get('features', ['search'])).toEqual([
        { key: 'search', value: { v: 1 }, version: 1 },
      ]);
      await driver.commit({
        operations: [{ op: 'put', collection: 'features', key: 'search', value: { v: 2 } }],
      });
      expect(await driver.get('features', ['search'])).toEqual([
        { key: 'search', value: { v: 2 }, version: 2 },
      ]);
      await driver.commit({ operations: [{ op: 'delete', collection: 'features', key: 'search' }] });
      expect(await driver.get('features', ['search'])).toEqual([undefined]);
      expect((await driver.read({ collections: ['features'] })).collections.features).toEqual([]);
      await driver.commit({
        operations: [{ op: 'put', collection: 'features', key: 'search', value: { v: 3 } }],
      });
      expect(await driver.get('features', ['search'])).toEqual([
        { key: 'search', value: { v: 3 }, version: 1 },
      ]);
    });

    it('gives entries back in the order asked, undefined where absent', async () => {
      await ctx.driver.commit({
        operations: [
          { op: 'put', collection: 'users', key: 'a', value: 'A' },
          { op: 'put', collection: 'users', key: 'c', value: 'C' },
        ],
      });
      const got = await ctx.driver.get('users', ['c', 'b', 'a']);
      expect(got.map((e) => e?.value)).toEqual(['C', undefined, 'A']);
    });

    it('reads entries by key with sets in one snapshot, the whole collection when also asked whole', async () => {
      await ctx.driver.commit({
        operations: [
          { op: 'put', collection: 'features', key: 'a', value: 'A' },
          { op: 'put', collection: 'features', key: 'b', value: 'B' },
          { op: 'put', collection: 'users', key: 'u', value: 'U' },
          { op: 'set-add', set: 'beta:a', members: ['u'] },
        ],
      });
      const peer = await ctx.peer();
      const snap = await peer.read({
        entries: { features: ['b', 'missing', '__proto__'], users: ['u'] },
        sets: ['beta:a'],
      });
      expect(snap.collections.features).toEqual([{ key: 'b', value: 'B', version: 1 }]);
      expect(snap.collections.users).toEqual([{ key: 'u', value: 'U', version: 1 }]);
      expect(snap.sets['beta:a']).toEqual({ members: ['u'], version: 1 });
      expect((await peer.read({ entries: { segments: ['x'] } })).collections.segments).toEqual([]);
      const both = await peer.read({ collections: ['features'], entries: { features: ['a'] } });
      expect([...(both.collections.features ?? [])].map((e) => e.key).sort()).toEqual(['a', 'b']);
    });

    it('keeps values as JSON keeps them and collections apart', async () => {
      const { driver } = ctx;
      await driver.commit({
        operations: [
          { op: 'put', collection: 'meta', key: 'k', value: RICH },
          { op: 'put', collection: 'segments', key: 'k', value: 'a segment' },
          { op: 'put', collection: LATER, key: 'k', value: [1, 'two'] },
        ],
      });
      const peer = await ctx.peer();
      const snap = await peer.read({ collections: ['meta', 'segments', LATER, 'features'] });
      expect(snap.collections.meta).toEqual([{ key: 'k', value: RICH, version: 1 }]);
      expect(snap.collections.segments).toEqual([{ key: 'k', value: 'a segment', version: 1 }]);
      expect(snap.collections[LATER]).toEqual([{ key: 'k', value: [1, 'two'], version: 1 }]);
      expect(snap.collections.features).toEqual([]);
    });

    it('keeps keys that look like prototype names, paths or numbers as they are', async () => {
      const keys = ['__proto__', 'constructor', 'a/b\\c', '..', '10', '2', 'é', 'a b', 'x:y|z'];
      await ctx.driver.commit({
        operations: keys.map((key, i) => ({ op: 'put' as const, collection: LATER, key, value: i })),
      });
      const snap = await ctx.driver.read({ collections: [LATER] });
      const read = [...(snap.collections[LATER] ?? [])].sort(
        (a, b) => (a.value as number) - (b.value as number),
      );
      expect(read.map((e) => e.key)).toEqual(keys);
      expect((await ctx.driver.get(LATER, ['__proto__']))[0]?.value).toBe(0);
    });

    it('does not let a caller change stored values through what it put or read', async () => {
      const value = { list: [1] };
      await ctx.driver.commit({ operations: [{ op: 'put', collection: LATER, key: 'k', value }] });
      value.list.push(2);
      const [read] = await ctx.driver.get(LATER, ['k']);
      (read?.value as { list: number[] } | undefined)?.list.push(3);
      expect((await ctx.driver.get(LATER, ['k']))[0]?.value).toEqual({ list: [1] });
    });
  });
}
