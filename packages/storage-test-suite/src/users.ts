import { describe, expect, it } from 'vitest';
import { expectCode, sorted } from './internal/assertions';
import { makeFeature, makeFeedback, makeUser, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** registerUser, getUser, getUserByEmail, listUsers and removeUser with its cascade. */
export function describeUsers(ctx: SuiteContext): void {
  describe('users', () => {
    it('registers a new user and reads it back by id', async () => {
      const user = makeUser({ name: 'Zoë Ångström', interests: ['search', 'ocr.v2'] });
      expect(await ctx.store.registerUser(user)).toEqual({ user, created: true });
      expect(await ctx.store.getUser(user.id)).toEqual(user);
      expect(await ctx.store.getUser('someone-else')).toBeUndefined();
    });

    it('returns the existing user for the same email in another case, without creating one', async () => {
      const { store } = ctx;
      const first = makeUser({ email: 'Alice.Smith@Example.com' });
      await store.registerUser(first);
      const again = makeUser({ email: 'alice.smith@EXAMPLE.COM', name: 'Someone Else' });
      expect(await store.registerUser(again)).toEqual({ user: first, created: false });
      expect(await store.getUser(again.id)).toBeUndefined();
      expect(await store.listUsers()).toEqual([first]);
    });

    it('rejects a different email under an id that is taken with ConflictError', async () => {
      const first = makeUser();
      await ctx.store.registerUser(first);
      await expectCode(ctx.store.registerUser(makeUser({ id: first.id })), 'CONFLICT');
      expect(await ctx.store.listUsers()).toEqual([first]);
    });

    it('finds a user by email regardless of case and surrounding spaces', async () => {
      const { store } = ctx;
      const user = makeUser({ email: 'Bob@Example.org' });
      await store.registerUser(user);
      expect(await store.getUserByEmail('bob@example.org')).toEqual(user);
      expect(await store.getUserByEmail('BOB@EXAMPLE.ORG')).toEqual(user);
      expect(await store.getUserByEmail('  Bob@Example.org ')).toEqual(user);
      expect(await store.getUserByEmail('bobby@example.org')).toBeUndefined();
    });

    it('lists users oldest first', async () => {
      const { store } = ctx;
      const late = makeUser({ createdAt: T0 + 3000 });
      const early = makeUser({ createdAt: T0 + 1000 });
      const middle = makeUser({ createdAt: T0 + 2000 });
      for (const user of [late, early, middle]) await store.registerUser(user);
      expect(await store.listUsers()).toEqual([early, middle, late]);
    });

    it('shows users registered through one handle to another', async () => {
      const user = makeUser();
      await ctx.store.registerUser(user);
      const peer = await ctx.peer();
      expect(await peer.getUser(user.id)).toEqual(user);
      expect(await peer.getUserByEmail(user.email.toUpperCase())).toEqual(user);
      expect((await peer.registerUser(makeUser({ email: user.email }))).created).toBe(false);
    });

    it('removes a user: true once, then false; false for an unknown id', async () => {
      const { store } = ctx;
      const user = makeUser();
      await store.registerUser(user);
      expect(await store.removeUser(user.id)).toBe(true);
      expect(await store.removeUser(user.id)).toBe(false);
      expect(await store.removeUser('unknown-user')).toBe(false);
      expect(await store.getUser(user.id)).toBeUndefined();
      expect(await store.getUserByEmail(user.email)).toBeUndefined();
      expect(await store.listUsers()).toEqual([]);
    });

    it('frees the email of a removed user for a new registration', async () => {
      const { store } = ctx;
      const user = makeUser();
      await store.registerUser(user);
      await store.removeUser(user.id);
      const next = makeUser({ email: user.email });
      expect(await store.registerUser(next)).toEqual({ user: next, created: true });
    });

    it('removes the user from beta lists, the blacklist and feedback, and nobody else', async () => {
      const { store } = ctx;
      const gone = makeUser();
      const kept = makeUser();
      await store.registerUser(gone);
      await store.registerUser(kept);
      for (const name of ['search', 'ocr']) {
        await store.putFeature(makeFeature({ name }), null);
        await store.addBetaMember(name, gone.id);
        await store.addBetaMember(name, kept.id);
      }
      await store.addToBlacklist(gone.id);
      await store.addToBlacklist(kept.id);
      const keptFeedback = makeFeedback({ userId: kept.id });
      await store.appendFeedback(makeFeedback({ userId: gone.id }));
      await store.appendFeedback(keptFeedback);
      await store.appendFeedback(makeFeedback({ userId: gone.id, feature: 'ocr' }));
      const before = (await store.readState()).version;

      expect(await store.removeUser(gone.id)).toBe(true);

      const state = await store.readState();
      expect(state.version).toBeGreaterThan(before);
      expect(sorted(state.beta['search'])).toEqual([kept.id]);
      expect(sorted(state.beta['ocr'])).toEqual([kept.id]);
      expect(state.blacklist).toEqual([kept.id]);
      expect(await store.listFeedback()).toEqual([keptFeedback]);
      expect(await store.listUsers()).toEqual([kept]);
    });
  });
}
