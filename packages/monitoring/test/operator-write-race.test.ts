import { ConflictError, MemoryStore } from '@canary-rollout/core';
import type { FeatureWrite } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { of, record, setup, usage } from './helpers';

describe("an operator's update-rollout racing a monitor's tick", () => {
  it('meets no conflict: the tick claims its incident in a meta record and leaves the feature version alone', async () => {
    const store = new MemoryStore();
    const { clock, rollout, monitor } = await setup(
      { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 10 } } } },
      { store, autoRollback: false },
    );
    const events = record(monitor);
    // Slow calls: a latency warning, a new incident the tick claims.
    usage(rollout, 'aiExtraction', 200, 0, 9_000);
    clock.advance(30_000);
    const before = rollout.getFeature('aiExtraction')!;

    // The operator's write reaches the store right after a whole tick ran in between its read
    // and its compare-and-set.
    const conflicts: unknown[] = [];
    const put = store.putFeature.bind(store);
    let raced = false;
    store.putFeature = async (feature: FeatureWrite, expectedVersion: number | null) => {
      if (!raced) {
        raced = true;
        await monitor.tick();
      }
      try {
        return await put(feature, expectedVersion);
      } catch (error) {
        if (error instanceof ConflictError) conflicts.push(error);
        throw error;
      }
    };
    const after = await rollout.updateRolloutPercentage('aiExtraction', 20);

    expect(raced).toBe(true);
    expect(of(events, 'alert')).toEqual([
      expect.objectContaining({ key: 'aiExtraction|warning', type: 'high-latency' }),
    ]);
    expect(conflicts).toEqual([]);
    expect(after.rolloutPercentage).toBe(20);
    // One write to the feature: the operator's.
    expect(after.version).toBe(before.version + 1);
    expect((await store.readMeta('incident:')).map((m) => m.key)).toEqual(['incident:aiExtraction|warning']);
  });
});
