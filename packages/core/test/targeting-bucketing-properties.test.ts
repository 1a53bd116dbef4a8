import {
  type CanaryConfigInput,
  CanaryRolloutService,
  ManualClock,
  MemoryStore,
  type Rule,
} from '@canary-rollout/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const N = 20_000;
const ids = Array.from({ length: N }, (_, i) => `user-${i}@example.com`);
const pro = { plan: 'pro' };
const proRule = (rolloutPercentage: number): Rule[] => [
  { constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }], rolloutPercentage },
];

async function serviceAt(percentages: Record<string, number>): Promise<CanaryRolloutService> {
  const features: NonNullable<CanaryConfigInput['canaryRollout']['features']> = {};
  for (const [name, p] of Object.entries(percentages)) {
    features[name] = { enabled: true, rolloutPercentage: 0, rules: proRule(p) };
  }
  return CanaryRolloutService.create({
    clock: new ManualClock(1_700_000_000_000),
    store: new MemoryStore(),
    config: { canaryRollout: { features } },
  });
}

describe('bucketing inside a rule', () => {
  it('ramps monotonically: raising a rule 10 -> 25 % keeps every user who had it, lowering removes only users', async () => {
    const service = await serviceAt({ ai: 10 });
    const on = () => new Set(ids.filter((userId) => service.isEnabled('ai', { userId, attributes: pro })));
    const at10 = on();
    await service.setRules('ai', proRule(25));
    const at25 = on();
    for (const id of at10) expect(at25.has(id)).toBe(true);
    // 5,000 expected, standard deviation about 61.
    expect(at25.size).toBeGreaterThan(5000 - 300);
    expect(at25.size).toBeLessThan(5000 + 300);
    await service.setRules('ai', proRule(10));
    expect(on()).toEqual(at10);
    await service.close();
  });

  it('for any two rule percentages, the smaller is a subset of the larger (property)', async () => {
    const service = await serviceAt({ ai: 0 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 30 }),
        async (a, b, users) => {
          const [low, high] = a <= b ? [a / 100, b / 100] : [b / 100, a / 100];
          await service.setRules('ai', proRule(low));
          const atLow = users.map((userId) => service.isEnabled('ai', { userId, attributes: pro }));
          await service.setRules('ai', proRule(high));
          users.forEach((userId, i) => {
            if (atLow[i]) expect(service.isEnabled('ai', { userId, attributes: pro })).toBe(true);
          });
        },
      ),
      { numRuns: 60 },
    );
    await service.close();
  });

  it('draws independent users per feature: two 10 % rules share about 1 %', async () => {
    const service = await serviceAt({ aiExtraction: 10, ocrFallback: 10, tableExtraction: 10 });
    const names = ['aiExtraction', 'ocrFallback', 'tableExtraction'];
    const on = names.map((f) => ids.map((userId) => service.isEnabled(f, { userId, attributes: pro })));
    for (let a = 0; a < names.length; a++) {
      for (let b = a + 1; b < names.length; b++) {
        let both = 0;
        for (let i = 0; i < N; i++) if (on[a]![i] && on[b]![i]) both++;
        // Expected 200 (1 %), standard deviation about 14: five of them either way.
        expect(both, `${names[a]} x ${names[b]}`).toBeGreaterThan(200 - 70);
        expect(both, `${names[a]} x ${names[b]}`).toBeLessThan(200 + 70);
      }
    }
    await service.close();
  });

  it("a user inside a rule's percentage is the user inside the same default percentage (one bucket per feature)", async () => {
    const service = await serviceAt({ ai: 30 });
    const plain = await CanaryRolloutService.create({
      store: new MemoryStore(),
      config: { canaryRollout: { features: { ai: { enabled: true, rolloutPercentage: 30 } } } },
    });
    for (const userId of ids.slice(0, 2000)) {
      expect(service.isEnabled('ai', { userId, attributes: pro })).toBe(
        plain.isFeatureEnabledForUser(userId, 'ai'),
      );
    }
    await Promise.all([service.close(), plain.close()]);
  });
});
