import { CanaryRolloutService, MemoryStore } from '@canary-rollout/core';
import { createMemoryStoreData } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';

const config = {
  canaryRollout: {
    attributes: { plan: 'string' as const },
    segments: {
      staff: {
        constraints: [{ attribute: 'email', operator: 'ends_with' as const, values: ['@company.com'] }],
      },
    },
    features: { aiExtraction: { enabled: true, rolloutPercentage: 0 } },
  },
};

describe('segments in the store', () => {
  it('a stored segment is used by rules, seen by every process, and wins over the config file', async () => {
    const data = createMemoryStoreData();
    const a = await CanaryRolloutService.create<string>({ store: new MemoryStore({ data }), config });
    const b = await CanaryRolloutService.create<string>({ store: new MemoryStore({ data }), config });
    await expect(a.setRules('aiExtraction', [{ segments: ['pro'] }])).rejects.toThrow(
      'features.aiExtraction.rules.0.segments.0: names no segment of canaryRollout.segments, got "pro"',
    );
    await a.putSegment('pro', {
      constraints: [{ attribute: 'plan', operator: 'in', values: ['pro', 'team'] }],
    });
    await a.setRules('aiExtraction', [{ segments: ['pro'] }, { segments: ['staff'] }]);
    await b.refresh();
    expect(b.getDecision('aiExtraction', { userId: 'u', attributes: { plan: 'team' } })).toMatchObject({
      enabled: true,
      rule: { index: 0 },
    });
    expect(b.isEnabled('aiExtraction', { userId: 'u', attributes: { email: 'jane@company.com' } })).toBe(
      true,
    );
    // Redefined in the store: every process recompiles the rules that name it.
    await a.putSegment('pro', { constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] });
    await b.refresh();
    expect(b.isEnabled('aiExtraction', { userId: 'u', attributes: { plan: 'team' } })).toBe(false);
    await a.putSegment('staff', {
      constraints: [{ attribute: 'email', operator: 'ends_with', values: ['@corp.example'] }],
    });
    await b.refresh();
    expect(b.isEnabled('aiExtraction', { userId: 'u', attributes: { email: 'jane@company.com' } })).toBe(
      false,
    );
    expect(Object.keys(b.getSegments()).sort()).toEqual(['pro', 'staff']);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a segment that does not fit the attributes, and deleting one that rules name', async () => {
    const store = new MemoryStore();
    const service = await CanaryRolloutService.create<string>({ store, config });
    await expect(
      service.putSegment('big', { constraints: [{ attribute: 'plan', operator: 'gt', value: 3 }] }),
    ).rejects.toThrow(
      'putSegment: segments.big.constraints.0.operator: "gt" does not apply to attribute "plan" of type string, got "gt"',
    );
    await expect(
      service.putSegment('__proto__', { constraints: [{ attribute: 'a', operator: 'in', values: ['x'] }] }),
    ).rejects.toThrow(/putSegment name argument: .*must be a segment name/);
    await expect(service.putSegment('empty', { constraints: [] })).rejects.toThrow(
      /putSegment segment argument: constraints/,
    );
    await service.putSegment('pro', {
      constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }],
    });
    await service.setRules('aiExtraction', [{ segments: ['pro'] }]);
    await expect(service.deleteSegment('pro')).rejects.toThrow(
      'deleteSegment: segment "pro" is named by the rules of aiExtraction; change their rules first',
    );
    await service.setRules('aiExtraction', []);
    expect(await service.deleteSegment('pro')).toBe(true);
    expect(await service.deleteSegment('pro')).toBe(false);
    expect((await store.readState()).segments).toBeUndefined();
    await service.close();
  });
});
