import { describe, expect, it } from 'vitest';
import { expectCode } from './internal/assertions';
import { makeFeature, makeUser } from './internal/builders';
import type { SuiteContext } from './internal/context';
import { expectNoPersonalData, rejectionOf } from './internal/personal-data';

/** Ids every store refuses in membership operations: one rule, the one core applies. */
const INVALID_IDS: readonly (readonly [string, unknown])[] = [
  ['an empty id', ''],
  ['an id of 257 characters', 'x'.repeat(257)],
  ['an id of 300 characters', `${'a'.repeat(288)}@example.com`],
  ['an id with a lone high surrogate', 'a\uD800b'],
  ['an id with a lone low surrogate', '\uDC00'],
  ['a number', 42],
  ['null', null],
];

type Membership = 'addBetaMember' | 'removeBetaMember' | 'addToBlacklist' | 'removeFromBlacklist';
const OPERATIONS: readonly Membership[] = [
  'addBetaMember',
  'removeBetaMember',
  'addToBlacklist',
  'removeFromBlacklist',
];

/** User-id validation and personal data in error messages, the same on every store. */
export function describeUserIds(ctx: SuiteContext): void {
  describe('user ids and personal data in errors', () => {
    const call = (op: Membership, id: unknown): Promise<boolean> => {
      const s = ctx.store as unknown as Record<Membership, (...args: unknown[]) => Promise<boolean>>;
      return op === 'addBetaMember' || op === 'removeBetaMember' ? s[op]('search', id) : s[op](id);
    };

    for (const op of OPERATIONS) {
      for (const [what, id] of INVALID_IDS) {
        it(`${op} refuses ${what} with InvalidArgumentError naming userId, storing nothing`, async () => {
          await ctx.store.putFeature(makeFeature({ name: 'search' }), null);
          const before = await ctx.store.readState();
          const error = await expectCode(call(op, id), 'INVALID_ARGUMENT');
          expect(error.message).toContain('userId');
          expect(error.message).toContain(op);
          if (typeof id === 'string' && id.length > 0) expect(error.message).not.toContain(id);
          expectNoPersonalData(error, []);
          const after = await ctx.store.readState();
          expect(after.beta).toEqual(before.beta);
          expect(after.blacklist).toEqual(before.blacklist);
          expect(after.version).toBe(before.version);
        });
      }
    }

    it('accepts ids of 256 characters and ids with surrogate pairs, reading them back exactly', async () => {
      await ctx.store.putFeature(makeFeature({ name: 'search' }), null);
      const long = 'y'.repeat(256);
      const emoji = 'user-\u{1F600}-\u00e9';
      expect(await ctx.store.addToBlacklist(long)).toBe(true);
      expect(await ctx.store.addToBlacklist(emoji)).toBe(true);
      expect(await ctx.store.addBetaMember('search', emoji)).toBe(true);
      const state = await ctx.store.readState();
      expect([...state.blacklist].sort()).toEqual([long, emoji].sort());
      expect(state.beta['search']).toEqual([emoji]);
      expect(await ctx.store.removeFromBlacklist(emoji)).toBe(true);
    });

    it('registerUser refuses a user whose id holds a lone surrogate, storing nothing', async () => {
      await expectCode(ctx.store.registerUser(makeUser({ id: 'usr\uD83D' })), 'INVALID_ARGUMENT');
      expect(await ctx.store.listUsers()).toEqual([]);
    });

    it('names no email, name or email-like id in the error of a taken user id', async () => {
      const first = makeUser({ id: 'alice@example.com', email: 'alice@example.com', name: 'Alice Liddell' });
      await ctx.store.registerUser(first);
      const second = makeUser({
        id: 'alice@example.com',
        email: 'other.alice@example.org',
        name: 'Alice Other',
      });
      const error = await expectCode(ctx.store.registerUser(second), 'CONFLICT');
      expectNoPersonalData(error, [first.id, first.email, first.name, second.email, second.name]);
    });

    it('names no personal data in the errors of invalid arguments', async () => {
      await ctx.store.putFeature(makeFeature({ name: 'search' }), null);
      const secrets = ['bob.secret@example.com', 'Bob Secretname'];
      const errors = [
        await rejectionOf(
          ctx.store.registerUser(
            makeUser({ email: 'bob.secret@example.com', name: 'Bob Secretname'.repeat(20) }),
          ),
        ),
        await rejectionOf(
          ctx.store.registerUser(
            makeUser({ id: '', email: 'bob.secret@example.com', name: 'Bob Secretname' }),
          ),
        ),
        await rejectionOf(ctx.store.addBetaMember('search', `bob.secret@example.com${'x'.repeat(300)}`)),
        await rejectionOf(ctx.store.addToBlacklist('bob.secret@example.com\uD800')),
        await rejectionOf(
          ctx.store.appendFeedback({
            id: 'fb-x',
            userId: 'bob.secret@example.com\uDFFF',
            feature: 'search',
            rating: 9,
            comment: 'Bob Secretname says hi',
            at: 1,
          }),
        ),
      ];
      for (const error of errors) expectNoPersonalData(error, secrets);
    });
  });
}
