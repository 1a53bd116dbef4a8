import { describe, expect, it } from 'vitest';
import { expectCode } from './internal/assertions';
import { MINUTE, makeFeature, makeRollback, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** rollback as one step, when it is not performed, and listRollbacks. */
export function describeRollback(ctx: SuiteContext): void {
  describe('rollback', () => {
    it('sets the percentage to 0, clears the beta list, bumps the version and records it', async () => {
      const { store } = ctx;
      const before = await store.putFeature(makeFeature({ rolloutPercentage: 50 }), null);
      await store.addBetaMember('search', 'user-1');
      await store.addBetaMember('search', 'user-2');
      const stateVersion = (await store.readState()).version;
      const request = makeRollback({ figures: { errorRate: 0.12, calls: 250 } });

      const result = await store.rollback('search', request);

      expect(result.performed).toBe(true);
      const after = {
        ...before,
        rolloutPercentage: 0,
        version: before.version + 1,
        updatedAt: request.at,
        stageStartedAt: request.at,
        // A new stage, numbered after the version it starts at.
        stageVersion: before.version + 1,
        lastRollbackAt: request.at,
      };
      expect(result.feature).toEqual(after);
      expect(result.record).toEqual({
        id: expect.any(String),
        feature: 'search',
        at: request.at,
        reason: request.reason,
        source: 'manual',
        previous: { rolloutPercentage: 50, rolloutStrategy: 'gradual', betaUsers: 2 },
        figures: { errorRate: 0.12, calls: 250 },
      });
      const state = await store.readState();
      expect(state.features).toEqual([after]);
      expect(state.beta['search'] ?? []).toEqual([]);
      expect(state.version).toBeGreaterThan(stateVersion);
      expect(await store.listRollbacks('search')).toEqual([result.record]);
      expect(await store.listRollbacks()).toEqual([result.record]);
    });

    it('turns a stable feature into a gradual one at 0 %', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature({ rolloutPercentage: 100, rolloutStrategy: 'stable' }), null);
      const { performed, feature, record } = await store.rollback(
        'search',
        makeRollback({ source: 'automatic' }),
      );
      expect(performed).toBe(true);
      expect(feature.rolloutStrategy).toBe('gradual');
      expect(feature.rolloutPercentage).toBe(0);
      expect(record?.previous).toEqual({ rolloutPercentage: 100, rolloutStrategy: 'stable', betaUsers: 0 });
      expect(record?.source).toBe('automatic');
      expect(record?.figures).toBeUndefined();
    });

    it('rolls back a beta-only feature by clearing its beta list', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature({ rolloutPercentage: 0, rolloutStrategy: 'beta-only' }), null);
      await store.addBetaMember('search', 'user-1');
      const { performed, feature, record } = await store.rollback('search', makeRollback());
      expect(performed).toBe(true);
      expect(feature.rolloutStrategy).toBe('beta-only');
      expect(record?.previous).toEqual({ rolloutPercentage: 0, rolloutStrategy: 'beta-only', betaUsers: 1 });
      expect((await store.readState()).beta['search'] ?? []).toEqual([]);
    });

    it('rolls back when expectedVersion matches', async () => {
      const current = await ctx.store.putFeature(makeFeature(), null);
      const result = await ctx.store.rollback('search', makeRollback({ expectedVersion: current.version }));
      expect(result.performed).toBe(true);
      expect(result.feature.version).toBe(current.version + 1);
    });

    it('does nothing when expectedVersion is stale', async () => {
      const { store } = ctx;
      const v1 = await store.putFeature(makeFeature(), null);
      const v2 = await store.putFeature(makeFeature({ rolloutPercentage: 40 }), v1.version);
      await store.addBetaMember('search', 'user-1');
      const result = await store.rollback('search', makeRollback({ expectedVersion: v1.version }));
      expect(result).toEqual({ performed: false, feature: v2 });
      const state = await store.readState();
      expect(state.features).toEqual([v2]);
      expect(state.beta['search']).toEqual(['user-1']);
      expect(await store.listRollbacks()).toEqual([]);
    });

    it('does nothing when the feature is already off for everyone', async () => {
      const { store } = ctx;
      const off = await store.putFeature(makeFeature({ rolloutPercentage: 0 }), null);
      const disabled = await store.putFeature(
        makeFeature({ name: 'ocr', enabled: false, rolloutPercentage: 80 }),
        null,
      );
      expect(await store.rollback('search', makeRollback())).toEqual({ performed: false, feature: off });
      expect(await store.rollback('ocr', makeRollback())).toEqual({ performed: false, feature: disabled });
      expect(await store.listRollbacks()).toEqual([]);
    });

    it('does nothing the second time', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      const first = await store.rollback('search', makeRollback());
      const second = await store.rollback('search', makeRollback({ at: T0 + 2 * MINUTE }));
      expect(second).toEqual({ performed: false, feature: first.feature });
      expect(await store.listRollbacks('search')).toHaveLength(1);
    });

    it('rejects an unknown feature with NotFoundError', async () => {
      await expectCode(ctx.store.rollback('ghost', makeRollback()), 'NOT_FOUND');
      expect(await ctx.store.listRollbacks()).toEqual([]);
    });

    it('lists rollback records per feature, oldest first', async () => {
      const { store } = ctx;
      let search = await store.putFeature(makeFeature({ name: 'search' }), null);
      await store.putFeature(makeFeature({ name: 'ocr' }), null);
      const a = await store.rollback('search', makeRollback({ at: T0 + MINUTE, reason: 'first' }));
      const b = await store.rollback('ocr', makeRollback({ at: T0 + 2 * MINUTE, reason: 'second' }));
      search = await store.putFeature(
        makeFeature({ name: 'search', rolloutPercentage: 5 }),
        a.feature.version,
      );
      const c = await store.rollback('search', makeRollback({ at: T0 + 3 * MINUTE, reason: 'third' }));
      expect(c.record?.previous.rolloutPercentage).toBe(search.rolloutPercentage);
      expect(await store.listRollbacks('search')).toEqual([a.record, c.record]);
      expect(await store.listRollbacks('ocr')).toEqual([b.record]);
      expect(await store.listRollbacks('translate')).toEqual([]);
      expect(await store.listRollbacks()).toEqual([a.record, b.record, c.record]);
      expect(new Set([a, b, c].map((r) => r.record?.id)).size).toBe(3);
    });
  });
}
