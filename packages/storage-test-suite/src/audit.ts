import {
  type AuditEntry,
  BetaUserService,
  CanaryRolloutService,
  ManualClock,
  type RolloutStore,
} from '@canary-rollout/core';
import { auditPseudonym, DEFAULT_AUDIT_KEY } from '@canary-rollout/core/monitor-kit';
import { describe, expect, it } from 'vitest';
import { MINUTE, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

const TIMEOUT = 30_000;
const config = {
  canaryRollout: {
    features: {
      search: { enabled: true, rolloutPercentage: 10, rolloutStrategy: 'gradual' as const },
      ranking: {
        enabled: true,
        plan: { steps: [5, 20, 100].map((percentage) => ({ percentage, minDurationMs: MINUTE })) },
      },
    },
  },
};

async function service(
  store: RolloutStore,
  clock: ManualClock,
  actor: string,
): Promise<CanaryRolloutService> {
  return CanaryRolloutService.create({ store, clock, config, actor, refreshIntervalMs: 3_600_000 });
}

const audit = async (store: RolloutStore) => (await store.listLogs('audit')) as unknown as AuditEntry[];

/** The audit trail the services write through the store: one entry per change, whatever the store. */
export function describeAudit(ctx: SuiteContext): void {
  describe('audit trail', () => {
    it(
      'keeps one entry per change of every kind, with user ids as pseudonyms',
      async () => {
        const clock = new ManualClock(T0);
        const rollout = await service(ctx.store, clock, 'ops@console');
        try {
          const users = new BetaUserService({ rollout, clock });
          const jane = await users.registerUser({ email: 'jane@example.com', name: 'Jane' });
          const step = async (change: () => Promise<unknown>) => {
            clock.advance(MINUTE);
            await change();
          };
          await step(() => users.enableFeatureForUser(jane.id, 'search'));
          await step(() => users.disableFeatureForUser(jane.id, 'search'));
          await step(() => rollout.addBetaUser('user-7', 'search'));
          await step(() => rollout.removeBetaUser('user-7', 'search'));
          await step(() => rollout.updateRolloutPercentage('search', 25));
          await step(() => rollout.setRolloutStrategy('search', 'beta-only'));
          await step(() => rollout.disableFeature('search'));
          await step(() => rollout.enableFeature('search'));
          await step(() => rollout.blacklistUser(jane.id));
          await step(() => rollout.unblacklistUser(jane.id));
          await step(() => rollout.setRolloutStrategy('search', 'gradual'));
          await step(() => rollout.rollback('search', 'by hand'));
          await step(() => rollout.updateRolloutPercentage('search', 5));
          await step(() => rollout.rollback('search', 'error rate 12 %', { source: 'automatic' }));
          await step(() => rollout.pausePlan('ranking', 'holiday freeze'));
          await step(() => rollout.resumePlan('ranking'));
          await step(() => users.removeUser(jane.id));
          // Changes that change nothing leave nothing.
          await rollout.enableFeature('search');
          await rollout.removeBetaUser('user-7', 'search');
          await rollout.updateRolloutPercentage('search', 0);

          const entries = await audit(ctx.store);
          expect(entries.map((e) => e.action)).toEqual([
            'add-beta-user',
            'remove-beta-user',
            'add-beta-user',
            'remove-beta-user',
            'update-percentage',
            'set-strategy',
            'disable-feature',
            'enable-feature',
            'blacklist-user',
            'unblacklist-user',
            'set-strategy',
            'rollback',
            'update-percentage',
            'rollback',
            'plan-move',
            'plan-move',
            'remove-user',
          ]);
          expect(entries.map((e) => e.at)).toEqual(entries.map((_, i) => T0 + (i + 1) * MINUTE));
          expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['ops@console']));
          expect(entries[4]).toMatchObject({
            feature: 'search',
            user: null,
            before: { rolloutPercentage: 10, rolloutStrategy: 'gradual', enabled: true },
            after: { rolloutPercentage: 25, rolloutStrategy: 'gradual', enabled: true },
            reason: null,
            source: 'manual',
          });
          expect(entries[11]).toMatchObject({
            action: 'rollback',
            before: { rolloutPercentage: 25 },
            after: { rolloutPercentage: 0 },
            reason: 'by hand',
            source: 'manual',
          });
          expect(entries[13]).toMatchObject({ source: 'automatic', reason: 'error rate 12 %' });
          expect(entries[14]).toMatchObject({
            feature: 'ranking',
            reason: 'holiday freeze',
            before: { planStatus: 'running' },
            after: { planStatus: 'paused' },
          });
          expect(entries[15]).toMatchObject({ feature: 'ranking', after: { planStatus: 'running' } });
          const pseudonym = auditPseudonym(jane.id, DEFAULT_AUDIT_KEY);
          expect(entries.filter((e) => e.user === pseudonym).map((e) => e.action)).toEqual([
            'add-beta-user',
            'remove-beta-user',
            'blacklist-user',
            'unblacklist-user',
            'remove-user',
          ]);
          const text = JSON.stringify(entries);
          expect(text).not.toContain(jane.id);
          expect(text).not.toContain('jane@example.com');
          expect(text).not.toContain('user-7');
          // Reads by time, like the other logs.
          expect(await ctx.store.listLogs('audit', { since: T0 + 16 * MINUTE })).toHaveLength(2);
        } finally {
          await rollout.close();
        }
      },
      TIMEOUT,
    );

    it(
      'leaves one entry per change when two processes change the same feature at once',
      async () => {
        const clock = new ManualClock(T0);
        const a = await service(ctx.store, clock, 'a@one');
        const b = await service(await ctx.peer(), clock, 'b@two');
        try {
          // Each step's entries, as a chain from the value before it: appends of two writers
          // may land in either order, but every change is there once and starts where another ended.
          let value = 10;
          // The changes start once the entries before them are counted: started first, one could
          // land before the count and be taken for an earlier step's (seen on a loaded machine).
          const step = async (changes: () => Promise<unknown>[], expected: number) => {
            const before = (await audit(ctx.store)).length;
            await Promise.all(changes());
            const added = (await audit(ctx.store)).slice(before);
            expect(added, JSON.stringify(added)).toHaveLength(expected);
            const pending = [...added];
            while (pending.length > 0) {
              const next = pending.findIndex((e) => e.before?.['rolloutPercentage'] === value);
              expect(next, `no change starts at ${value}: ${JSON.stringify(added)}`).not.toBe(-1);
              value = Number(pending.splice(next, 1)[0]!.after?.['rolloutPercentage']);
            }
          };
          for (let round = 0; round < 5; round++) {
            const target = 20 + round * 10;
            // Different targets: both changes happen, one after the other (compare-and-set retries).
            await step(
              () => [
                a.updateRolloutPercentage('search', target),
                b.updateRolloutPercentage('search', target + 5),
              ],
              2,
            );
            // The same target: one writer changes it, the other finds nothing left to do.
            await step(
              () => [
                a.updateRolloutPercentage('search', target + 7),
                b.updateRolloutPercentage('search', target + 7),
              ],
              1,
            );
            // Racing rollbacks: one is performed, one entry.
            await step(
              () => [a.rollback('search', `round ${round}`), b.rollback('search', `round ${round}`)],
              1,
            );
            expect(value).toBe(0);
          }
          const entries = await audit(ctx.store);
          expect(entries).toHaveLength(5 * 4);
          expect(entries.filter((e) => e.action === 'rollback')).toHaveLength(5);
          expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['a@one', 'b@two']));
        } finally {
          await a.close();
          await b.close();
        }
      },
      TIMEOUT,
    );
  });
}
