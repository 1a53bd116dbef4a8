import type { FeatureRecord, RolloutStore } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { MINUTE, makeFeature, makeRollback, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

const ROUNDS = 10;
/** Room for the rounds against a networked store, whatever the project's default timeout. */
const TIMEOUT = 30_000;

/** Two handles (as two processes would) racing on the same feature. */
export function describeRaces(ctx: SuiteContext): void {
  describe('races between two handles', () => {
    it(
      'performs exactly one of two concurrent rollbacks, round after round',
      async () => {
        const { store } = ctx;
        const peer = await ctx.peer();
        let current: FeatureRecord = await store.putFeature(makeFeature({ rolloutPercentage: 50 }), null);
        for (let round = 0; round < ROUNDS; round++) {
          // Re-arm: the feature is on again, half of the rounds with beta members too.
          current = await rearm(round % 2 === 0 ? store : peer, current, round);
          if (round % 2 === 1) await store.addBetaMember('search', `user-${round}`);
          const at = T0 + (round + 1) * MINUTE;
          // Odd rounds pass the version judged, as a monitor would; even rounds pass none.
          const expectedVersion = round % 2 === 1 ? { expectedVersion: current.version } : {};
          const request = makeRollback({ at, reason: `round ${round}`, ...expectedVersion });
          const results = await Promise.all([
            store.rollback('search', request),
            peer.rollback('search', request),
          ]);

          const performed = results.filter((r) => r.performed);
          expect(performed, `round ${round}`).toHaveLength(1);
          const records = (await store.listRollbacks('search')).filter((r) => r.reason === `round ${round}`);
          expect(records, `round ${round}`).toEqual([performed[0]?.record]);
          const state = await peer.readState();
          const stored = state.features.find((f) => f.name === 'search');
          expect(stored).toEqual(performed[0]?.feature);
          expect(stored?.rolloutPercentage).toBe(0);
          expect(stored?.version).toBe(current.version + 1);
          expect(state.beta['search'] ?? []).toEqual([]);
          current = stored ?? current;
        }
        expect(await store.listRollbacks()).toHaveLength(ROUNDS);
      },
      TIMEOUT,
    );

    it(
      'lets exactly one of two concurrent writes with the same expectedVersion win',
      async () => {
        const { store } = ctx;
        const peer = await ctx.peer();
        let current = await store.putFeature(makeFeature(), null);
        for (let round = 0; round < ROUNDS; round++) {
          const results = await Promise.allSettled([
            store.putFeature(makeFeature({ rolloutPercentage: 10, updatedAt: T0 + round }), current.version),
            peer.putFeature(makeFeature({ rolloutPercentage: 20, updatedAt: T0 + round }), current.version),
          ]);
          const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
          const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
          expect(won, `round ${round}`).toHaveLength(1);
          expect(lost, `round ${round}`).toHaveLength(1);
          expect((lost[0] as { code?: unknown } | undefined)?.code, `round ${round}`).toBe('CONFLICT');
          expect(won[0]?.version).toBe(current.version + 1);
          expect((await store.readState()).features).toEqual(won);
          current = won[0] ?? current;
        }
      },
      TIMEOUT,
    );

    it(
      'creates a feature once when both handles create it concurrently',
      async () => {
        const peer = await ctx.peer();
        const results = await Promise.allSettled([
          ctx.store.putFeature(makeFeature({ rolloutPercentage: 10 }), null),
          peer.putFeature(makeFeature({ rolloutPercentage: 20 }), null),
        ]);
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        expect(won).toHaveLength(1);
        expect((await peer.readState()).features).toEqual(won);
      },
      TIMEOUT,
    );

    it(
      'registers one user when both handles register the same email concurrently',
      async () => {
        const peer = await ctx.peer();
        const [a, b] = await Promise.all([
          ctx.store.registerUser({
            id: 'u-a',
            email: 'Same@Example.com',
            name: 'A',
            interests: [],
            createdAt: T0,
          }),
          peer.registerUser({
            id: 'u-b',
            email: 'same@example.com',
            name: 'B',
            interests: [],
            createdAt: T0,
          }),
        ]);
        expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
        expect(a.user).toEqual(b.user);
        expect(await ctx.store.listUsers()).toEqual([a.user]);
      },
      TIMEOUT,
    );
  });
}

async function rearm(handle: RolloutStore, current: FeatureRecord, round: number): Promise<FeatureRecord> {
  const { version: _version, ...write } = current;
  return handle.putFeature(
    {
      ...write,
      rolloutPercentage: round % 3 === 0 ? 100 : 30,
      rolloutStrategy: round % 3 === 0 ? 'stable' : 'gradual',
    },
    current.version,
  );
}
