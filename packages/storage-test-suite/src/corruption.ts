import { describe, expect, it } from 'vitest';
import { expectCode } from './internal/assertions';
import { makeFeature, makeUser } from './internal/builders';
import type { SuiteContext } from './internal/context';

const CORRUPTED = 'STORE_DATA_CORRUPTED';

/** Reads of damaged data fail with StoreDataCorruptedError, leave the data alone and leak nothing. */
export function describeCorruption(ctx: SuiteContext): void {
  describe('corrupted data', () => {
    it('rejects readState with StoreDataCorruptedError after the features are damaged', async () => {
      await ctx.store.putFeature(makeFeature(), null);
      await ctx.corrupt('features');
      const error = await expectCode(ctx.store.readState(), CORRUPTED);
      expect(error.message.length).toBeGreaterThan(0);
      // Reported, never silently replaced: a second read fails the same way.
      await expectCode(ctx.store.readState(), CORRUPTED);
    });

    it('rejects readState on another handle too', async () => {
      await ctx.store.putFeature(makeFeature(), null);
      await ctx.corrupt('features');
      const peer = await ctx.peer();
      await expectCode(peer.readState(), CORRUPTED);
    });

    it('rejects listUsers with StoreDataCorruptedError after the users are damaged', async () => {
      await ctx.store.registerUser(makeUser());
      await ctx.corrupt('users');
      await expectCode(ctx.store.listUsers(), CORRUPTED);
      await expectCode(ctx.store.listUsers(), CORRUPTED);
    });

    it('names no personal data of stored users in the error or its causes', async () => {
      const user = makeUser({ email: 'Private.Person@Example.net', name: 'Private Person' });
      await ctx.store.registerUser(user);
      await ctx.corrupt('users');
      const error = await expectCode(ctx.store.listUsers(), CORRUPTED);
      const text = describeChain(error).toLowerCase();
      expect(text).not.toContain(user.email.toLowerCase());
      expect(text).not.toContain(user.name.toLowerCase());
    });
  });
}

/** Message and stack of an error and of its causes: loggers print all of them. */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? '');
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join('\n');
}
