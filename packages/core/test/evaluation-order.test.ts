import {
  CanaryRolloutService,
  type EvaluationReason,
  ManualClock,
  MemoryStore,
  type RolloutStrategy,
} from '@canary-rollout/core';
import { bucketOf } from '@canary-rollout/core/experiments';
import { describe, expect, it } from 'vitest';

/** A user inside a 50 % rollout of aiExtraction and one outside it, found by their buckets. */
const inside = Array.from({ length: 100 }, (_, i) => `u${i}`).find(
  (id) => bucketOf('aiExtraction', id) < 5000,
)!;
const outside = Array.from({ length: 100 }, (_, i) => `u${i}`).find(
  (id) => bucketOf('aiExtraction', id) >= 5000,
)!;

interface Row {
  readonly name: string;
  readonly systemEnabled?: boolean;
  readonly featureEnabled?: boolean;
  readonly strategy?: RolloutStrategy;
  readonly percentage?: number;
  readonly user?: string;
  readonly feature?: string;
  readonly blacklisted?: boolean;
  readonly beta?: boolean;
  readonly enabled: boolean;
  readonly reason: EvaluationReason;
}

const rows: Row[] = [
  {
    name: '1. system disabled beats everything',
    systemEnabled: false,
    beta: true,
    strategy: 'stable',
    enabled: false,
    reason: 'system-disabled',
  },
  { name: '2. unknown feature', feature: 'noSuchFeature', enabled: false, reason: 'unknown-feature' },
  {
    name: '2. feature disabled beats beta membership',
    featureEnabled: false,
    beta: true,
    enabled: false,
    reason: 'feature-disabled',
  },
  {
    name: '3. blacklist beats beta membership and stable',
    blacklisted: true,
    beta: true,
    strategy: 'stable',
    enabled: false,
    reason: 'blacklisted',
  },
  {
    name: '4. beta member of a beta-only feature',
    strategy: 'beta-only',
    beta: true,
    enabled: true,
    reason: 'beta-member',
  },
  {
    name: '4. beta member outside a 0 % gradual rollout',
    percentage: 0,
    user: outside,
    beta: true,
    enabled: true,
    reason: 'beta-member',
  },
  { name: '5. stable: everyone', strategy: 'stable', percentage: 0, enabled: true, reason: 'stable' },
  {
    name: '5. beta-only: off for non-members whatever the percentage',
    strategy: 'beta-only',
    percentage: 100,
    enabled: false,
    reason: 'beta-only',
  },
  {
    name: '6. gradual: bucket below the threshold',
    percentage: 50,
    user: inside,
    enabled: true,
    reason: 'in-rollout',
  },
  {
    name: '6. gradual: bucket at or above the threshold',
    percentage: 50,
    user: outside,
    enabled: false,
    reason: 'outside-rollout',
  },
  { name: '6. gradual 100 %', percentage: 100, user: outside, enabled: true, reason: 'in-rollout' },
  { name: '6. gradual 0 %', percentage: 0, user: inside, enabled: false, reason: 'outside-rollout' },
  { name: 'empty user id', user: '', enabled: false, reason: 'invalid-user' },
];

async function serviceFor(row: Row): Promise<CanaryRolloutService> {
  const service = await CanaryRolloutService.create({
    clock: new ManualClock(1_700_000_000_000),
    store: new MemoryStore(),
    config: {
      canaryRollout: {
        enabled: row.systemEnabled ?? true,
        features: {
          aiExtraction: {
            enabled: row.featureEnabled ?? true,
            rolloutStrategy: row.strategy ?? 'gradual',
            rolloutPercentage: row.percentage ?? 50,
          },
        },
      },
    },
  });
  const user = row.user ?? inside;
  if (row.beta === true) await service.addBetaUser(user || 'someone', 'aiExtraction');
  if (row.blacklisted === true) await service.blacklistUser(user);
  return service;
}

describe('evaluation order (first match wins)', () => {
  it.each(rows)('$name', async (row) => {
    const service = await serviceFor(row);
    const user = row.user ?? inside;
    const feature = row.feature ?? 'aiExtraction';
    expect(service.isFeatureEnabledForUser(user, feature)).toBe(row.enabled);
    const evaluation = service.evaluate(user, feature);
    expect(evaluation.reason).toBe(row.reason);
    expect(evaluation.enabled).toBe(row.enabled);
    const deciding = evaluation.steps.filter((s) => s.outcome === 'on' || s.outcome === 'off');
    expect(deciding).toHaveLength(1);
    expect(deciding[0]!.outcome).toBe(row.enabled ? 'on' : 'off');
    const after = evaluation.steps.slice(evaluation.steps.indexOf(deciding[0]!) + 1);
    expect(after.every((s) => s.outcome === 'skipped')).toBe(true);
    await service.close();
  });

  it('reports the bucket and threshold', async () => {
    const service = await serviceFor({ name: '', percentage: 12.34, enabled: true, reason: 'in-rollout' });
    const evaluation = service.evaluate('someone', 'aiExtraction');
    expect(evaluation.bucket).toBe(bucketOf('aiExtraction', 'someone'));
    expect(evaluation.threshold).toBe(1234);
    expect(evaluation.enabled).toBe(evaluation.bucket! < 1234);
    await service.close();
  });

  it('never throws and answers false for odd features and users', async () => {
    const service = await serviceFor({ name: '', strategy: 'stable', enabled: true, reason: 'stable' });
    const odd: unknown[] = [
      'toString',
      'hasOwnProperty',
      '__proto__',
      'constructor',
      'valueOf',
      '',
      undefined,
      null,
      42,
      {},
      Symbol('x'),
    ];
    for (const feature of odd) {
      expect(service.isFeatureEnabledForUser('user-1', feature as string)).toBe(false);
      expect(() => service.evaluate('user-1', feature as string)).not.toThrow();
    }
    for (const user of ['', undefined, null, 42, {}, []]) {
      expect(service.isFeatureEnabledForUser(user as string, 'aiExtraction')).toBe(false);
      expect(service.evaluate(user as string, 'aiExtraction').reason).toBe('invalid-user');
    }
    await service.close();
  });

  it('evaluates from the config before the store is read', () => {
    const service = new CanaryRolloutService({
      config: {
        canaryRollout: { features: { tableExtraction: { enabled: true, rolloutStrategy: 'stable' } } },
      },
    });
    expect(service.isFeatureEnabledForUser('anyone', 'tableExtraction')).toBe(true);
  });
});
