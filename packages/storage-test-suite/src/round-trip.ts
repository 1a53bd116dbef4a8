import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featureWriteArb, metricBucketArb, userArb } from './internal/arbitraries';
import { makeFeature, nextId } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** Property: whatever valid data is written comes back equal, through both handles. */
export function describeRoundTrip(ctx: SuiteContext): void {
  const numRuns = ctx.options.propertyRuns;
  // Slow stores get time in proportion to the runs; shrinking a failure adds more.
  const timeout = 20_000 + numRuns * 400;

  describe('round trips (property)', () => {
    it(
      'returns any valid feature record as written',
      async () => {
        const peer = await ctx.peer();
        await fc.assert(
          fc.asyncProperty(featureWriteArb(nextId), async (write) => {
            const created = await ctx.store.putFeature(write, null);
            expect(created).toEqual({ ...write, version: 1 });
            const stored = (await peer.readState()).features.find((f) => f.name === write.name);
            expect(stored).toEqual(created);
          }),
          { numRuns },
        );
      },
      timeout,
    );

    it(
      'returns any valid user as registered, by id and by email',
      async () => {
        const peer = await ctx.peer();
        await fc.assert(
          fc.asyncProperty(userArb(nextId), async (user) => {
            expect(await ctx.store.registerUser(user)).toEqual({ user, created: true });
            expect(await peer.getUser(user.id)).toEqual(user);
            expect(await peer.getUserByEmail(user.email.toUpperCase())).toEqual(user);
          }),
          { numRuns },
        );
      },
      timeout,
    );

    it(
      'keeps any user id in beta lists and the blacklist as it was',
      async () => {
        await ctx.store.putFeature(makeFeature(), null);
        await fc.assert(
          fc.asyncProperty(userArb(nextId), async ({ id }) => {
            await ctx.store.addBetaMember('search', id);
            await ctx.store.addToBlacklist(id);
            const state = await ctx.store.readState();
            expect(state.beta['search']).toContain(id);
            expect(state.blacklist).toContain(id);
            expect(await ctx.store.removeBetaMember('search', id)).toBe(true);
            expect(await ctx.store.removeFromBlacklist(id)).toBe(true);
          }),
          { numRuns },
        );
      },
      timeout,
    );

    it(
      'returns any valid metric bucket as added',
      async () => {
        const peer = await ctx.peer();
        await fc.assert(
          fc.asyncProperty(metricBucketArb(nextId), async (bucket) => {
            await ctx.store.addMetrics([bucket]);
            expect(await peer.readMetrics(bucket.bucketStart, [bucket.feature])).toEqual([bucket]);
          }),
          { numRuns },
        );
      },
      timeout,
    );
  });
}
