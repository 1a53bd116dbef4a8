import { describe, expect, it } from 'vitest';
import { expectCode, sorted } from './internal/assertions';
import { makeFeature } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** Per-feature beta lists and the global blacklist. */
export function describeBetaAndBlacklist(ctx: SuiteContext): void {
  describe('beta lists', () => {
    it('adds a member once: true, then false', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      expect(await store.addBetaMember('search', 'user-1')).toBe(true);
      expect(await store.addBetaMember('search', 'user-1')).toBe(false);
      expect(await store.addBetaMember('search', 'user-2')).toBe(true);
      expect(sorted((await store.readState()).beta['search'])).toEqual(['user-1', 'user-2']);
    });

    it('keeps the lists of different features apart', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature({ name: 'search' }), null);
      await store.putFeature(makeFeature({ name: 'ocr' }), null);
      await store.addBetaMember('search', 'user-1');
      await store.addBetaMember('ocr', 'user-2');
      const { beta } = await store.readState();
      expect(sorted(beta['search'])).toEqual(['user-1']);
      expect(sorted(beta['ocr'])).toEqual(['user-2']);
    });

    it('removes a member once: true, then false; false for an unknown feature', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      await store.addBetaMember('search', 'user-1');
      await store.addBetaMember('search', 'user-2');
      expect(await store.removeBetaMember('search', 'user-1')).toBe(true);
      expect(await store.removeBetaMember('search', 'user-1')).toBe(false);
      expect(await store.removeBetaMember('ghost', 'user-1')).toBe(false);
      expect(sorted((await store.readState()).beta['search'])).toEqual(['user-2']);
    });

    it('rejects a member of an unknown feature with NotFoundError', async () => {
      await expectCode(ctx.store.addBetaMember('ghost', 'user-1'), 'NOT_FOUND');
      expect((await ctx.store.readState()).beta['ghost'] ?? []).toEqual([]);
    });

    it('increases the state version when a list changes', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature(), null);
      const v0 = (await store.readState()).version;
      await store.addBetaMember('search', 'user-1');
      const v1 = (await store.readState()).version;
      expect(v1).toBeGreaterThan(v0);
      await store.removeBetaMember('search', 'user-1');
      expect((await store.readState()).version).toBeGreaterThan(v1);
    });
  });

  describe('blacklist', () => {
    it('adds a user once: true, then false', async () => {
      const { store } = ctx;
      expect(await store.addToBlacklist('user-1')).toBe(true);
      expect(await store.addToBlacklist('user-1')).toBe(false);
      expect(await store.addToBlacklist('user-2')).toBe(true);
      expect(sorted((await store.readState()).blacklist)).toEqual(['user-1', 'user-2']);
    });

    it('removes a user once: true, then false', async () => {
      const { store } = ctx;
      await store.addToBlacklist('user-1');
      expect(await store.removeFromBlacklist('user-1')).toBe(true);
      expect(await store.removeFromBlacklist('user-1')).toBe(false);
      expect(await store.removeFromBlacklist('never-listed')).toBe(false);
      expect((await store.readState()).blacklist).toEqual([]);
    });

    it('increases the state version when the blacklist changes', async () => {
      const { store } = ctx;
      const v0 = (await store.readState()).version;
      await store.addToBlacklist('user-1');
      const v1 = (await store.readState()).version;
      expect(v1).toBeGreaterThan(v0);
      await store.removeFromBlacklist('user-1');
      expect((await store.readState()).version).toBeGreaterThan(v1);
    });

    it('is shared between handles', async () => {
      await ctx.store.addToBlacklist('user-1');
      const peer = await ctx.peer();
      expect(await peer.addToBlacklist('user-1')).toBe(false);
      expect((await peer.readState()).blacklist).toEqual(['user-1']);
    });
  });
}
