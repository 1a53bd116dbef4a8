import type { DriverCommit } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import type { DriverContext } from './context';
import { LATER } from './entries';

/** Conditional, all-or-nothing commits, on one handle and racing across two. */
export function describeDriverCommits(ctx: DriverContext): void {
  describe('commits', () => {
    it('applies nothing when one expectation fails, and names the failed ones with what was found', async () => {
      const { driver } = ctx;
      await driver.commit({
        operations: [
          { op: 'put', collection: 'features', key: 'a', value: 'a1' },
          { op: 'set-add', set: 'blacklist', members: ['u1'] },
        ],
      });
      const before = await driver.read({ collections: ['features', 'users'], sets: ['blacklist', 'beta:a'] });
      const result = await driver.commit({
        expect: [
          { collection: 'features', key: 'a', version: 1 },
          { collection: 'features', key: 'b', version: 3 },
          { collection: 'users', key: 'x', version: null },
          { set: 'blacklist', version: 7 },
        ],
        operations: [
          { op: 'put', collection: 'features', key: 'a', value: 'a2' },
          { op: 'delete', collection: 'features', key: 'a' },
          { op: 'put', collection: 'users', key: 'x', value: 'x' },
          { op: 'set-add', set: 'beta:a', members: ['u2'] },
          { op: 'set-clear', set: 'blacklist' },
          { op: 'append', log: 'audit', at: 1, entry: { at: 1 }, retain: 10 },
        ],
      });
      expect(result.committed).toBe(false);
      if (result.committed) return;
      expect(result.conflicts).toEqual(
        expect.arrayContaining([
          { collection: 'features', key: 'b', version: 3, found: null },
          { set: 'blacklist', version: 7, found: 1 },
        ]),
      );
      expect(result.conflicts).toHaveLength(2);
      const after = await driver.read({ collections: ['features', 'users'], sets: ['blacklist', 'beta:a'] });
      expect(after).toEqual(before);
      expect(await driver.readLog('audit')).toEqual([]);
    });

    it('fails an expectation of absence when the entry exists, and of a version when it is absent', async () => {
      const { driver } = ctx;
      await driver.commit({ operations: [{ op: 'put', collection: LATER, key: 'k', value: 1 }] });
      const taken = await driver.commit({
        expect: [{ collection: LATER, key: 'k', version: null }],
        operations: [{ op: 'put', collection: LATER, key: 'k', value: 2 }],
      });
      expect(taken).toEqual({
        committed: false,
        conflicts: [{ collection: LATER, key: 'k', version: null, found: 1 }],
      });
      const absent = await driver.commit({
        expect: [{ collection: LATER, key: 'other', version: 1 }],
        operations: [{ op: 'put', collection: LATER, key: 'other', value: 2 }],
      });
      expect(absent).toEqual({
        committed: false,
        conflicts: [{ collection: LATER, key: 'other', version: 1, found: null }],
      });
      expect((await driver.get(LATER, ['k', 'other'])).map((e) => e?.value)).toEqual([1, undefined]);
    });

    it('applies every operation of a commit whose expectations hold, in order', async () => {
      const { driver } = ctx;
      const result = await driver.commit({
        expect: [
          { collection: 'users', key: 'u1', version: null },
          { set: 'beta:search', version: 0 },
        ],
        operations: [
          { op: 'put', collection: 'users', key: 'u1', value: 'first' },
          { op: 'put', collection: 'users', key: 'u1', value: 'second' },
          { op: 'put', collection: 'emails', key: 'h1', value: 'u1' },
          { op: 'set-add', set: 'beta:search', members: ['u1', 'u2'] },
          { op: 'set-remove', set: 'beta:search', members: ['u2', 'nobody'] },
          { op: 'delete', collection: 'emails', key: 'never-there' },
          { op: 'append', log: 'rollbacks', at: 5, entry: { at: 5 }, retain: 10 },
        ],
      });
      expect(result.committed).toBe(true);
      const peer = await ctx.peer();
      const snap = await peer.read({ collections: ['users', 'emails'], sets: ['beta:search'] });
      expect(snap.collections.users).toEqual([{ key: 'u1', value: 'second', version: 2 }]);
      expect(snap.collections.emails).toEqual([{ key: 'h1', value: 'u1', version: 1 }]);
      expect(snap.sets['beta:search']).toEqual({ members: ['u1'], version: 1 });
      expect(await peer.readLog('rollbacks')).toEqual([{ at: 5 }]);
    });

    it('bumps the store version once per commit that changes entries or sets, and not otherwise', async () => {
      const { driver } = ctx;
      const v0 = (await driver.read({})).version;
      const first = await driver.commit({
        operations: [{ op: 'put', collection: LATER, key: 'a', value: 1 }],
      });
      expect(first).toEqual({ committed: true, version: v0 + 1 });
      const second = await driver.commit({
        operations: [
          { op: 'put', collection: LATER, key: 'b', value: 1 },
          { op: 'set-add', set: 'blacklist', members: ['u'] },
        ],
      });
      expect(second).toEqual({ committed: true, version: v0 + 2 });
      const check = await driver.commit({
        expect: [{ collection: LATER, key: 'a', version: 1 }],
        operations: [],
      });
      expect(check.committed).toBe(true);
      const logged = await driver.commit({
        operations: [{ op: 'append', log: 'audit', at: 1, entry: { at: 1 }, retain: 10 }],
      });
      expect(logged).toEqual({ committed: true, version: v0 + 2 });
      expect((await driver.read({})).version).toBe(v0 + 2);
      const peer = await ctx.peer();
      await peer.commit({ operations: [{ op: 'delete', collection: LATER, key: 'a' }] });
      expect((await driver.read({})).version).toBe(v0 + 3);
    });

    it('lets exactly one of two handles win a race on one expectation, round after round', async () => {
      const { driver } = ctx;
      const peer = await ctx.peer();
      let version: number | null = null;
      for (let round = 0; round < ctx.raceRounds; round++) {
        const attempt = (who: string): DriverCommit => ({
          expect: [{ collection: 'features', key: 'search', version }],
          operations: [
            { op: 'put', collection: 'features', key: 'search', value: { who, round } },
            { op: 'append', log: 'audit', at: round, entry: { at: round, who }, retain: 1000 },
          ],
        });
        const results = await Promise.all([driver.commit(attempt('a')), peer.commit(attempt('b'))]);
        const won = results.filter((r) => r.committed);
        expect(won, `round ${round}`).toHaveLength(1);
        const [entry] = await peer.get('features', ['search']);
        expect(entry?.version).toBe((version ?? 0) + 1);
        const winner = (entry?.value as { who?: string } | undefined)?.who;
        const log = await driver.readLog('audit', { since: round });
        expect(log, `round ${round}`).toEqual([{ at: round, who: winner }]);
        version = entry?.version ?? null;
      }
    });

    it('keeps every one of many concurrent unconditional commits from two handles', async () => {
      const { driver } = ctx;
      const peer = await ctx.peer();
      const writes = Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? driver : peer).commit({
          operations: [
            { op: 'put', collection: LATER, key: `k${i}`, value: i },
            { op: 'set-add', set: 'blacklist', members: [`u${i}`] },
          ],
        }),
      );
      const results = await Promise.all(writes);
      expect(results.every((r) => r.committed)).toBe(true);
      const snap = await driver.read({ collections: [LATER], sets: ['blacklist'] });
      expect(snap.collections[LATER]).toHaveLength(40);
      expect(snap.sets['blacklist']?.members).toHaveLength(40);
      expect(snap.sets['blacklist']?.version).toBe(40);
    });
  });
}
