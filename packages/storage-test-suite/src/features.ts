import { describe, expect, it } from 'vitest';
import { expectCode } from './internal/assertions';
import { makeFeature, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** putFeature (compare-and-set), deleteFeature and the state version. */
export function describeFeatures(ctx: SuiteContext): void {
  describe('features', () => {
    it('creates a feature with expectedVersion null at version 1', async () => {
      const write = makeFeature({ name: 'search', rolloutPercentage: 12.5 });
      const created = await ctx.store.putFeature(write, null);
      expect(created).toEqual({ ...write, version: 1 });
      expect((await ctx.store.readState()).features).toEqual([created]);
    });

    it('updates a feature at the expected version and bumps the version by one', async () => {
      const { store } = ctx;
      const v1 = await store.putFeature(makeFeature(), null);
      const v2 = await store.putFeature(
        makeFeature({ rolloutPercentage: 50, updatedAt: T0 + 1 }),
        v1.version,
      );
      expect(v2.version).toBe(v1.version + 1);
      expect(v2.rolloutPercentage).toBe(50);
      const v3 = await store.putFeature(makeFeature({ rolloutStrategy: 'stable' }), v2.version);
      expect(v3.version).toBe(v2.version + 1);
      expect((await store.readState()).features).toEqual([v3]);
    });

    it('rejects a stale or wrong version with ConflictError and keeps the stored record', async () => {
      const { store } = ctx;
      const v1 = await store.putFeature(makeFeature(), null);
      const v2 = await store.putFeature(makeFeature({ rolloutPercentage: 30 }), v1.version);
      await expectCode(store.putFeature(makeFeature({ rolloutPercentage: 90 }), v1.version), 'CONFLICT');
      await expectCode(store.putFeature(makeFeature({ rolloutPercentage: 90 }), v2.version + 5), 'CONFLICT');
      expect((await store.readState()).features).toEqual([v2]);
    });

    it('rejects invalid writes with InvalidArgumentError and stores nothing', async () => {
      const { store } = ctx;
      const v1 = await store.putFeature(makeFeature(), null);
      await expectCode(
        store.putFeature(makeFeature({ rolloutPercentage: 150 }), v1.version),
        'INVALID_ARGUMENT',
      );
      await expectCode(store.putFeature(makeFeature({ name: 'bad name' }), null), 'INVALID_ARGUMENT');
      await expectCode(
        store.registerUser({
          id: 'usr_x',
          email: 'x@example.com',
          name: 'X',
          interests: ['bad name'],
          createdAt: T0,
        }),
        'INVALID_ARGUMENT',
      );
      expect((await store.readState()).features).toEqual([v1]);
      expect(await store.listUsers()).toEqual([]);
    });

    it('rejects creating a feature that exists with ConflictError', async () => {
      const { store } = ctx;
      const v1 = await store.putFeature(makeFeature(), null);
      await expectCode(store.putFeature(makeFeature({ rolloutPercentage: 99 }), null), 'CONFLICT');
      expect((await store.readState()).features).toEqual([v1]);
    });

    it('rejects updating a feature that does not exist with ConflictError', async () => {
      await expectCode(ctx.store.putFeature(makeFeature({ name: 'ghost' }), 1), 'CONFLICT');
      expect((await ctx.store.readState()).features).toEqual([]);
    });

    it('keeps features apart and lists all of them', async () => {
      const { store } = ctx;
      const a = await store.putFeature(makeFeature({ name: 'search' }), null);
      const b = await store.putFeature(makeFeature({ name: 'ocr.v2', rolloutStrategy: 'beta-only' }), null);
      const a2 = await store.putFeature(makeFeature({ name: 'search', enabled: false }), a.version);
      const byName = (await store.readState()).features.toSorted((x, y) => x.name.localeCompare(y.name));
      expect(byName).toEqual([b, a2]);
    });

    it('round-trips optional and unknown fields of a record', async () => {
      const write = { ...makeFeature({ lastRollbackAt: T0 - 5 }), owner: { team: 'docs' } };
      const created = await ctx.store.putFeature(write, null);
      expect(created).toEqual({ ...write, version: 1 });
      expect((await ctx.store.readState()).features).toEqual([{ ...write, version: 1 }]);
    });

    it("round-trips a feature's bucketing and refuses an unknown algorithm", async () => {
      const { store } = ctx;
      const write = makeFeature({ bucketing: { algorithm: 'growthbook', seed: '', hashVersion: 2 } });
      const created = await store.putFeature(write, null);
      expect(created).toEqual({ ...write, version: 1 });
      const other = makeFeature({ name: 'other', bucketing: { algorithm: 'unleash', groupId: 'g:1' } });
      await store.putFeature(other, null);
      const bad = { ...makeFeature({ name: 'bad' }), bucketing: { algorithm: 'launchdarkly' } };
      await expectCode(store.putFeature(bad as ReturnType<typeof makeFeature>, null), 'INVALID_ARGUMENT');
      const byName = (await store.readState()).features.toSorted((x, y) => x.name.localeCompare(y.name));
      expect(byName).toEqual([
        { ...other, version: 1 },
        { ...write, version: 1 },
      ]);
    });

    it('makes a write visible to another handle as soon as it returns', async () => {
      const created = await ctx.store.putFeature(makeFeature(), null);
      const peer = await ctx.peer();
      expect((await peer.readState()).features).toEqual([created]);
      const updated = await peer.putFeature(makeFeature({ rolloutPercentage: 40 }), created.version);
      expect((await ctx.store.readState()).features).toEqual([updated]);
    });

    it('deletes a feature: true once, then false', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      expect(await store.deleteFeature('search')).toBe(true);
      expect(await store.deleteFeature('search')).toBe(false);
      expect(await store.deleteFeature('never-there')).toBe(false);
      expect((await store.readState()).features).toEqual([]);
    });

    it('deletes the beta list with the feature, and a feature can be created again', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      await store.addBetaMember('search', 'user-1');
      await store.deleteFeature('search');
      expect((await store.readState()).beta['search'] ?? []).toEqual([]);
      const again = await store.putFeature(makeFeature({ rolloutPercentage: 5 }), null);
      expect(again.rolloutPercentage).toBe(5);
      const state = await store.readState();
      expect(state.features).toEqual([again]);
      expect(state.beta['search'] ?? []).toEqual([]);
    });

    it('increases the state version on every feature write and delete', async () => {
      const { store } = ctx;
      const v0 = (await store.readState()).version;
      const created = await store.putFeature(makeFeature(), null);
      const v1 = (await store.readState()).version;
      expect(v1).toBeGreaterThan(v0);
      await store.putFeature(makeFeature({ rolloutPercentage: 60 }), created.version);
      const v2 = (await store.readState()).version;
      expect(v2).toBeGreaterThan(v1);
      await store.deleteFeature('search');
      expect((await store.readState()).version).toBeGreaterThan(v2);
    });
  });
}
