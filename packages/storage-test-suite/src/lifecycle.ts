import { describe, expect, it } from 'vitest';
import { makeFeature } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** open / close and the empty store. */
export function describeLifecycle(ctx: SuiteContext): void {
  describe('lifecycle', () => {
    it('open is idempotent', async () => {
      await ctx.store.open();
      await ctx.store.open();
      expect((await ctx.store.readState()).features).toEqual([]);
    });

    it('close is idempotent', async () => {
      await ctx.store.close();
      await ctx.store.close();
    });

    it('reads an empty state from a fresh store', async () => {
      const state = await ctx.store.readState();
      expect(typeof state.version).toBe('number');
      expect(Number.isFinite(state.version)).toBe(true);
      expect(state.features).toEqual([]);
      expect(state.blacklist).toEqual([]);
      for (const members of Object.values(state.beta)) expect(members).toEqual([]);
    });

    it('reads empty lists from a fresh store', async () => {
      const { store } = ctx;
      expect(await store.listUsers()).toEqual([]);
      expect(await store.listFeedback()).toEqual([]);
      expect(await store.readMetrics(0)).toEqual([]);
      expect(await store.listLogs('alerts')).toEqual([]);
      expect(await store.listLogs('health-reports')).toEqual([]);
      expect(await store.listRollbacks()).toEqual([]);
      expect(await store.getUser('nobody')).toBeUndefined();
      expect(await store.getUserByEmail('nobody@example.com')).toBeUndefined();
    });

    it('keeps data after the writing handle is closed', async () => {
      const written = await ctx.store.putFeature(makeFeature(), null);
      await ctx.store.close();
      const peer = await ctx.peer();
      expect((await peer.readState()).features).toEqual([written]);
    });
  });
}
