import { describe, expect, it } from 'vitest';
import { makeFeature, makeUser } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** Bytes of `needle` (UTF-8) found in `haystack`. */
function contains(haystack: Uint8Array, needle: string): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).includes(
    Buffer.from(needle, 'utf8'),
  );
}

/** removeUser erases: nothing the store keeps at rest holds the user's email, name or comment. */
export function describeErasure(ctx: SuiteContext): void {
  describe('erasure', () => {
    it('leaves the email, name and feedback of a removed user in nothing the store keeps', async (test) => {
      const { store } = ctx;
      await store.putFeature(makeFeature({ name: 'search' }), null);
      const user = makeUser({
        email: 'erase.me.please@example.org',
        name: 'Zoë Forgettable',
        interests: ['search'],
      });
      const comment = 'Confidential remark about the invoices of Zoë';
      const kept = makeUser({ email: 'stays@example.org', name: 'Kept Person' });
      await store.registerUser(kept);
      await store.registerUser(user);
      await store.addBetaMember('search', user.id);
      await store.addToBlacklist(user.id);
      for (let i = 0; i < 3; i++) {
        await store.appendFeedback({
          id: `fb-erase-${i}`,
          userId: user.id,
          feature: 'search',
          rating: 2,
          comment,
          at: 1_000 + i,
        });
      }
      await store.appendFeedback({
        id: 'fb-kept',
        userId: kept.id,
        feature: 'search',
        rating: 5,
        comment: 'Fine',
        at: 2_000,
      });
      const before = await ctx.atRest();
      if (before === undefined) {
        test.skip();
        return;
      }
      // The probe itself must see the data before the erasure, or it proves nothing.
      expect(contains(before, user.email)).toBe(true);

      expect(await store.removeUser(user.id)).toBe(true);
      const after = await ctx.atRest();
      if (after === undefined) throw new Error('atRest answered before the erasure but not after it');
      for (const [what, text] of [
        ['email', user.email],
        ['name', user.name],
        ['comment', comment],
      ] as const) {
        expect(contains(after, text), `the ${what} is still stored`).toBe(false);
      }
      // What was not erased is still there, whole.
      expect(await store.getUser(kept.id)).toEqual(kept);
      expect((await store.listFeedback()).map((f) => f.id)).toEqual(['fb-kept']);
    });
  });
}
