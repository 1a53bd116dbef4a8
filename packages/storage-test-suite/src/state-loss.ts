import { type CanaryRolloutError, CanaryRolloutService, ManualClock } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { sorted } from './internal/assertions';
import { T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

const CONFIG = {
  canaryRollout: {
    features: {
      ocrFallback: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' as const },
      aiExtraction: { enabled: true, rolloutPercentage: 10, rolloutStrategy: 'gradual' as const },
      tableExtraction: { enabled: true, rolloutPercentage: 0, rolloutStrategy: 'beta-only' as const },
    },
  },
};

/**
 * A rollout service over a store that loses its data (needs the harness's `wipe`): the last good
 * snapshot keeps serving, the loss is reported once as `STORE_DATA_LOST`, and the store is
 * restored from the snapshot and the config, beta lists and blacklist included.
 */
export function describeStateLoss(ctx: SuiteContext): void {
  describe('a store that lost its data, under a rollout service', () => {
    it('keeps serving the last good snapshot, reports the loss and restores the store', async (test) => {
      const wipe = ctx.wipe;
      if (wipe === undefined) return test.skip();
      const clock = new ManualClock(T0);
      const service = new CanaryRolloutService<string>({
        store: ctx.store,
        clock,
        config: CONFIG,
        refreshIntervalMs: 3_600_000,
      });
      const errors: CanaryRolloutError[] = [];
      service.events.on('error', (error) => {
        errors.push(error);
      });
      try {
        await service.start();
        // Live state that differs from the config: only the snapshot can bring it back.
        await service.updateRolloutPercentage('aiExtraction', 30, { force: true });
        await service.addBetaUser('beta-1', 'tableExtraction');
        await service.addBetaUser('beta-2', 'tableExtraction');
        await service.addBetaUser('beta-3', 'aiExtraction');
        await service.blacklistUser('banned-1');
        const before = (id: string) =>
          ['ocrFallback', 'aiExtraction', 'tableExtraction'].map((f) =>
            service.isFeatureEnabledForUser(id, f),
          );
        const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
        const answers = users.map(before);
        expect(errors).toEqual([]);

        await wipe();
        await service.refresh();

        const lost = errors.filter((e) => e.code === 'STORE_DATA_LOST');
        expect(lost).toHaveLength(1);
        expect(lost[0]!.message).toContain('aiExtraction');
        expect(sorted([...((lost[0] as unknown as { features: string[] }).features ?? [])])).toEqual(
          sorted(['ocrFallback', 'aiExtraction', 'tableExtraction']),
        );
        // The same answers as before the loss, for everyone.
        expect(users.map(before)).toEqual(answers);
        expect(service.evaluate('anyone', 'ocrFallback').reason).not.toBe('unknown-feature');
        expect(service.isFeatureEnabledForUser('beta-1', 'tableExtraction')).toBe(true);
        expect(service.isFeatureEnabledForUser('banned-1', 'ocrFallback')).toBe(false);
        const loss = service.stateLoss();
        expect(loss?.count).toBe(1);
        expect(loss?.restoredAt).toBeDefined();
        expect(loss?.restored).toMatchObject({ betaMembers: 3, blacklisted: 1 });
        expect(sorted([...(loss?.restored?.fromSnapshot ?? [])])).toEqual(
          sorted(['ocrFallback', 'aiExtraction', 'tableExtraction']),
        );

        // The store holds the live state again, as another process reads it.
        const peer = await ctx.peer();
        const state = await peer.readState();
        const byName = new Map(state.features.map((f) => [f.name, f]));
        expect(byName.get('aiExtraction')).toMatchObject({
          rolloutPercentage: 30,
          rolloutStrategy: 'gradual',
        });
        expect(byName.get('ocrFallback')).toMatchObject({
          rolloutPercentage: 100,
          rolloutStrategy: 'stable',
        });
        expect(byName.get('tableExtraction')).toMatchObject({ rolloutStrategy: 'beta-only' });
        expect(sorted(state.beta['tableExtraction'])).toEqual(['beta-1', 'beta-2']);
        expect(sorted(state.beta['aiExtraction'])).toEqual(['beta-3']);
        expect(state.blacklist).toEqual(['banned-1']);

        // Everything works on the restored store: usage is stored, a rollback is performed.
        service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 7, successfulCalls: 7 });
        await service.flush();
        const calls = (await peer.readMetrics(0, ['aiExtraction'])).reduce((n, b) => n + b.calls, 0);
        expect(calls).toBe(7);
        const record = await service.rollback('aiExtraction', 'after the loss');
        expect(record?.feature).toBe('aiExtraction');
        expect(service.getFeature('aiExtraction')?.rolloutPercentage).toBe(0);
        // A later refresh finds nothing lost.
        await service.refresh();
        expect(errors.filter((e) => e.code === 'STORE_DATA_LOST')).toHaveLength(1);
        expect(errors.filter((e) => e.code !== 'STORE_DATA_LOST')).toEqual([]);
      } finally {
        await service.close();
      }
    });
  });
}
