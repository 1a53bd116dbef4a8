import { isValidFeatureName } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { expectCode, sorted } from './internal/assertions';
import { makeBucket, makeFeature, makeRollback } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** Every property name of `Object.prototype`: each must be refused or handled like any name. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);
const ACCEPTED = PROTOTYPE_NAMES.filter((name) => isValidFeatureName(name));
const REFUSED = PROTOTYPE_NAMES.filter((name) => !isValidFeatureName(name));

/** Feature names that are also `Object.prototype` members (`hasOwnProperty`, `toString`, ...). */
export function describePrototypeNames(ctx: SuiteContext): void {
  describe('Object.prototype member names as feature names', () => {
    it('the validation accepts the ordinary-looking ones', () => {
      expect(ACCEPTED).toEqual(
        expect.arrayContaining(['hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toString']),
      );
    });

    it('reads no feature or beta list that was never written', async () => {
      const { store } = ctx;
      await store.putFeature(makeFeature({ name: 'search' }), null);
      const state = await store.readState();
      for (const name of PROTOTYPE_NAMES) {
        expect(state.beta[name], `beta[${name}]`).toBeUndefined();
        expect(Object.hasOwn(state.beta, name)).toBe(false);
      }
      expect(await store.removeBetaMember('hasOwnProperty', 'user-1')).toBe(false);
      await expectCode(store.addBetaMember('toString', 'user-1'), 'NOT_FOUND');
      await expectCode(store.rollback('valueOf', makeRollback()), 'NOT_FOUND');
      expect(await store.deleteFeature('isPrototypeOf')).toBe(false);
    });

    it.each(ACCEPTED)(
      'stores, lists, rolls back and deletes a feature named %s like any other',
      async (name) => {
        const { store } = ctx;
        await store.putFeature(makeFeature({ name: 'search' }), null);
        await store.addBetaMember('search', 'user-9');
        const created = await store.putFeature(makeFeature({ name, rolloutPercentage: 40 }), null);
        expect(created.name).toBe(name);
        await expectCode(store.putFeature(makeFeature({ name }), null), 'CONFLICT');
        expect(await store.addBetaMember(name, 'user-1')).toBe(true);
        expect(await store.addBetaMember(name, 'user-2')).toBe(true);
        let state = await store.readState();
        expect(state.features.map((f) => f.name).sort()).toEqual([name, 'search'].sort());
        expect(sorted(state.beta[name])).toEqual(['user-1', 'user-2']);
        expect(sorted(state.beta['search'])).toEqual(['user-9']);

        await store.addMetrics([
          makeBucket({ feature: name }),
          makeBucket({ feature: 'search', calls: 3, successes: 3, failures: 0, latencyCount: 3 }),
        ]);
        const own = await store.readMetrics(0, [name]);
        expect(own.map((b) => [b.feature, b.calls])).toEqual([[name, 10]]);

        const result = await store.rollback(name, makeRollback());
        expect(result.performed).toBe(true);
        expect(result.feature.rolloutPercentage).toBe(0);
        expect((await store.listRollbacks(name)).map((r) => r.feature)).toEqual([name]);
        state = await store.readState();
        expect(state.beta[name] ?? []).toEqual([]);
        expect(sorted(state.beta['search'])).toEqual(['user-9']);
        expect(state.features.find((f) => f.name === 'search')?.rolloutPercentage).toBe(25);

        expect(await store.deleteFeature(name)).toBe(true);
        state = await store.readState();
        expect(state.features.map((f) => f.name)).toEqual(['search']);
        expect(state.beta[name]).toBeUndefined();
      },
    );

    it.each(REFUSED)('refuses a feature named %s with InvalidArgumentError naming it', async (name) => {
      const error = await expectCode(ctx.store.putFeature(makeFeature({ name }), null), 'INVALID_ARGUMENT');
      expect(error.message).toContain(JSON.stringify(name));
      expect((await ctx.store.readState()).features).toEqual([]);
    });
  });
}
