import { describe, expect, it } from 'vitest';
import { sorted } from '../internal/assertions';
import type { DriverContext } from './context';

/** Sets: members, versions that only go up, reads by name and by prefix. */
export function describeDriverSets(ctx: DriverContext): void {
  describe('sets', () => {
    it('bumps a set version once per commit that touches it, even when its members stay', async () => {
      const { driver } = ctx;
      const version = async () => (await driver.read({ sets: ['blacklist'] })).sets['blacklist']?.version;
      expect(await version()).toBe(0);
      await driver.commit({ operations: [{ op: 'set-add', set: 'blacklist', members: ['a', 'b'] }] });
      expect(await version()).toBe(1);
      await driver.commit({ operations: [{ op: 'set-add', set: 'blacklist', members: ['a'] }] });
      expect(await version()).toBe(2);
      await driver.commit({
        operations: [
          { op: 'set-remove', set: 'blacklist', members: ['a'] },
          { op: 'set-add', set: 'blacklist', members: ['c'] },
        ],
      });
      expect(await version()).toBe(3);
      expect(sorted((await driver.read({ sets: ['blacklist'] })).sets['blacklist']?.members)).toEqual([
        'b',
        'c',
      ]);
    });

    it('never takes a set version back, not even when the set is cleared', async () => {
      const { driver } = ctx;
      await driver.commit({ operations: [{ op: 'set-add', set: 'beta:search', members: ['a'] }] });
      await driver.commit({ operations: [{ op: 'set-clear', set: 'beta:search' }] });
      const peer = await ctx.peer();
      expect((await peer.read({ sets: ['beta:search'] })).sets['beta:search']).toEqual({
        members: [],
        version: 2,
      });
      const stale = await peer.commit({ expect: [{ set: 'beta:search', version: 0 }], operations: [] });
      expect(stale.committed).toBe(false);
      await driver.commit({ operations: [{ op: 'set-add', set: 'beta:search', members: ['b'] }] });
      expect((await peer.read({ sets: ['beta:search'] })).sets['beta:search']).toEqual({
        members: ['b'],
        version: 3,
      });
    });

    it.skipIf(!ctx.reportsSetChanges)(
      'reports, when asked, whether each set add and remove changed the set, in the order applied',
      async () => {
        const { driver } = ctx;
        await driver.commit({ operations: [{ op: 'set-add', set: 'blacklist', members: ['a'] }] });
        const result = await driver.commit({
          reportSetChanges: true,
          operations: [
            { op: 'set-add', set: 'blacklist', members: ['a'] },
            { op: 'set-add', set: 'blacklist', members: ['b'] },
            { op: 'set-add', set: 'blacklist', members: ['b'] },
            { op: 'put', collection: 'features', key: 'f', value: 1 },
            { op: 'set-add', set: 'beta:f', members: ['a', 'c'] },
            { op: 'set-remove', set: 'beta:f', members: ['nobody'] },
            { op: 'set-remove', set: 'beta:f', members: ['c', 'nobody'] },
            { op: 'set-remove', set: 'beta:f', members: ['c'] },
            { op: 'set-clear', set: 'beta:f' },
            { op: 'set-add', set: 'beta:f', members: ['a'] },
            { op: 'append', log: 'audit', at: 1, entry: { at: 1 }, retain: 10 },
          ],
        });
        expect(result).toEqual({
          committed: true,
          version: expect.any(Number),
          setChanges: [false, true, false, true, false, true, false, true],
        });
        const quiet = await driver.commit({
          reportSetChanges: true,
          quiet: true,
          operations: [
            { op: 'set-add', set: 'blacklist', members: ['a', 'a'] },
            { op: 'set-add', set: 'blacklist', members: ['z', 'z'] },
          ],
        });
        expect(quiet).toMatchObject({ committed: true, setChanges: [false, true] });
        const snap = await driver.read({ sets: ['blacklist', 'beta:f'] });
        expect(sorted(snap.sets['blacklist']?.members)).toEqual(['a', 'b', 'z']);
        expect(snap.sets['beta:f']?.members).toEqual(['a']);
      },
    );

    it.skipIf(!ctx.reportsSetChanges)(
      'tells exactly one of two handles adding (or removing) one member at once that it changed the set',
      async () => {
        const { driver } = ctx;
        const peer = await ctx.peer();
        const both = (op: 'set-add' | 'set-remove', member: string) =>
          Promise.all(
            [driver, peer].map((handle) =>
              handle.commit({
                reportSetChanges: true,
                operations: [{ op, set: 'blacklist', members: [member] }],
              }),
            ),
          );
        for (let round = 0; round < ctx.raceRounds; round++) {
          for (const op of ['set-add', 'set-remove'] as const) {
            const results = await both(op, `u${round}`);
            const changes = results.map((r) => (r.committed ? r.setChanges : undefined));
            expect(sorted(changes.map((c) => String(c?.[0]))), `round ${round} ${op}`).toEqual([
              'false',
              'true',
            ]);
          }
        }
        expect((await driver.read({ sets: ['blacklist'] })).sets['blacklist']?.members).toEqual([]);
      },
    );

    it('keeps each member once and members of any text', async () => {
      const odd = ['user-1', 'user-1', 'Zoë', '__proto__', 'a b', 'a|b', '名前'];
      await ctx.driver.commit({ operations: [{ op: 'set-add', set: 'beta:x', members: odd }] });
      const set = (await ctx.driver.read({ sets: ['beta:x'] })).sets['beta:x'];
      expect(sorted(set?.members)).toEqual(sorted([...new Set(odd)]));
    });

    it('reads every set written under a prefix, and only those', async () => {
      const { driver } = ctx;
      await driver.commit({
        operations: [
          { op: 'set-add', set: 'beta:a', members: ['u1'] },
          { op: 'set-add', set: 'beta:b', members: ['u2'] },
          { op: 'set-add', set: 'blacklist', members: ['u3'] },
        ],
      });
      await driver.commit({ operations: [{ op: 'set-clear', set: 'beta:b' }] });
      const snap = await driver.read({ setPrefixes: ['beta:'] });
      expect(sorted(Object.keys(snap.sets))).toEqual(['beta:a', 'beta:b']);
      expect(snap.sets['beta:a']).toEqual({ members: ['u1'], version: 1 });
      expect(snap.sets['beta:b']).toEqual({ members: [], version: 2 });
      const both = await driver.read({ sets: ['blacklist', 'beta:none'], setPrefixes: ['beta:a'] });
      expect(sorted(Object.keys(both.sets))).toEqual(['beta:a', 'beta:none', 'blacklist']);
      expect(both.sets['beta:none']).toEqual({ members: [], version: 0 });
    });

    it('reads collections, sets and the version of one moment while another handle writes', async () => {
      const { driver } = ctx;
      const peer = await ctx.peer();
      // Each commit moves a member and a counter entry together; a consistent read sees them agree.
      const writes = (async () => {
        for (let i = 1; i <= 30; i++) {
          await peer.commit({
            operations: [
              { op: 'put', collection: 'features', key: 'counter', value: i },
              { op: 'set-clear', set: 'blacklist' },
              { op: 'set-add', set: 'blacklist', members: [`u${i}`] },
            ],
          });
        }
      })();
      for (let i = 0; i < 30; i++) {
        const snap = await driver.read({ collections: ['features'], sets: ['blacklist'] });
        const counter = snap.collections.features?.[0]?.value;
        const members = snap.sets['blacklist']?.members ?? [];
        if (counter === undefined) expect(members).toEqual([]);
        else expect(members).toEqual([`u${String(counter)}`]);
      }
      await writes;
    });
  });
}
