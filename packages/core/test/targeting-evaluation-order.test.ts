import {
  type CanaryConfigInput,
  CanaryRolloutService,
  type EvaluationReason,
  ManualClock,
  MemoryStore,
} from '@canary-rollout/core';
import { bucketOf } from '@canary-rollout/core/experiments';
import { describe, expect, it } from 'vitest';

const ids = Array.from({ length: 200 }, (_, i) => `u${i}`);
/** A user inside a 50 % rollout of `ai` and one outside it. */
const inside = ids.find((id) => bucketOf('ai', id) < 5000)!;
const outside = ids.find((id) => bucketOf('ai', id) >= 5000)!;

const config = (ai: Record<string, unknown> = {}, enabled = true): CanaryConfigInput => ({
  canaryRollout: {
    enabled,
    segments: { pro: { constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] } },
    features: {
      base: { enabled: true, rolloutStrategy: 'stable' },
      baseOff: { enabled: false },
      ai: {
        enabled: true,
        rolloutPercentage: 50,
        prerequisites: ['base'],
        rules: [
          {
            name: 'staff',
            constraints: [{ attribute: 'email', operator: 'ends_with', values: ['@company.com'] }],
          },
          {
            name: 'pro in DE',
            segments: ['pro'],
            constraints: [{ attribute: 'country', operator: 'in', values: ['DE'] }],
            rolloutPercentage: 50,
          },
          {
            name: 'old app',
            constraints: [{ attribute: 'appVersion', operator: 'semver_lt', value: '3.0.0' }],
            rolloutPercentage: 0,
          },
        ],
        ...ai,
      },
    },
  },
});

interface Row {
  readonly name: string;
  readonly config?: CanaryConfigInput;
  readonly user?: string | undefined;
  readonly attributes?: Record<string, string>;
  readonly blacklisted?: boolean;
  readonly beta?: boolean;
  readonly reason: EvaluationReason;
  readonly step: string;
  readonly rule?: string;
}

const staff = { email: 'jane@company.com' };
const proDe = { plan: 'pro', country: 'DE' };
const rows: Row[] = [
  {
    name: '1. system disabled',
    config: config({}, false),
    attributes: staff,
    reason: 'system-disabled',
    step: 'system',
  },
  { name: '1. bad user id', user: '', attributes: staff, reason: 'invalid-user', step: 'system' },
  {
    name: '2. feature disabled beats a matching rule',
    config: config({ enabled: false }),
    attributes: staff,
    reason: 'feature-disabled',
    step: 'feature',
  },
  {
    name: '3. blacklist beats a matching rule',
    blacklisted: true,
    attributes: staff,
    reason: 'blacklisted',
    step: 'blacklist',
  },
  {
    name: '4. beta list beats a prerequisite that is off',
    config: config({ prerequisites: ['baseOff'] }),
    beta: true,
    reason: 'beta-member',
    step: 'beta',
  },
  {
    name: '5. prerequisite off beats a matching rule',
    config: config({ prerequisites: ['baseOff'] }),
    attributes: staff,
    reason: 'prerequisite-off',
    step: 'prerequisites',
  },
  {
    name: '6. first matching rule wins (staff before pro in DE)',
    attributes: { ...staff, ...proDe },
    reason: 'rule-match',
    step: 'rules',
    rule: 'staff',
  },
  {
    name: '6. a rule decides by its own percentage: inside',
    user: inside,
    attributes: proDe,
    reason: 'rule-match',
    step: 'rules',
    rule: 'pro in DE',
  },
  {
    name: '6. a rule decides by its own percentage: outside',
    user: outside,
    attributes: proDe,
    reason: 'rule-outside-rollout',
    step: 'rules',
    rule: 'pro in DE',
  },
  {
    name: '6. a rule at 0 % turns the feature off for what it matches',
    user: inside,
    attributes: { appVersion: '2.9.1' },
    reason: 'rule-outside-rollout',
    step: 'rules',
    rule: 'old app',
  },
  {
    name: '7. no rule matched: the strategy (stable)',
    config: config({ rolloutStrategy: 'stable' }),
    attributes: { plan: 'pro' },
    reason: 'stable',
    step: 'strategy',
  },
  {
    name: '7. no rule matched: the strategy (beta-only)',
    config: config({ rolloutStrategy: 'beta-only' }),
    reason: 'beta-only',
    step: 'strategy',
  },
  {
    name: '8. no rule matched: the bucket (inside)',
    user: inside,
    attributes: { plan: 'free' },
    reason: 'in-rollout',
    step: 'bucket',
  },
  {
    name: '8. no rule matched: the bucket (outside)',
    user: outside,
    reason: 'outside-rollout',
    step: 'bucket',
  },
  {
    name: '8. no user id: a bucket cannot be computed',
    user: undefined,
    reason: 'missing-user-id',
    step: 'bucket',
  },
  {
    name: 'no user id: a rule at 100 % still decides',
    user: undefined,
    attributes: staff,
    reason: 'rule-match',
    step: 'rules',
    rule: 'staff',
  },
];

async function serviceFor(row: Row): Promise<CanaryRolloutService> {
  const service = await CanaryRolloutService.create({
    clock: new ManualClock(1_700_000_000_000),
    store: new MemoryStore(),
    config: row.config ?? config(),
  });
  if (row.beta === true) await service.addBetaUser(row.user ?? inside, 'ai');
  if (row.blacklisted === true) await service.blacklistUser(row.user ?? inside);
  return service;
}

describe('evaluation order with targeting (first match wins)', () => {
  it.each(rows)('$name', async (row) => {
    const service = await serviceFor(row);
    const userId = 'user' in row ? row.user : inside;
    const context = { userId, ...(row.attributes === undefined ? {} : { attributes: row.attributes }) } as {
      userId: string;
    };
    const decision = service.getDecision('ai', context);
    expect(decision.reason).toBe(row.reason);
    expect(service.isEnabled('ai', context)).toBe(decision.enabled);
    expect(decision.rule?.name ?? null).toBe(row.rule ?? null);
    const evaluation = service.explain('ai', context);
    expect(evaluation.reason).toBe(row.reason);
    const deciding = evaluation.steps.filter((s) => s.outcome === 'on' || s.outcome === 'off');
    expect(deciding.map((s) => s.step)).toEqual([row.step]);
    const at = evaluation.steps.indexOf(deciding[0]!);
    expect(evaluation.steps.slice(0, at).every((s) => s.outcome === 'pass')).toBe(true);
    expect(evaluation.steps.slice(at + 1).every((s) => s.outcome === 'skipped')).toBe(true);
    expect(evaluation.steps.map((s) => s.step)).toEqual([
      'system',
      'feature',
      'blacklist',
      'beta',
      'prerequisites',
      'rules',
      'strategy',
      'bucket',
    ]);
    await service.close();
  });

  it('explain names the rule and the constraint that decided, and why earlier rules failed', async () => {
    const service = await serviceFor({ name: '', reason: 'rule-match', step: 'rules' });
    const evaluation = service.explain('ai', { userId: outside, attributes: { plan: 'pro', country: 'DE' } });
    expect(evaluation.rule).toEqual({ index: 1, name: 'pro in DE', rolloutPercentage: 50 });
    expect(evaluation.rules?.map((r) => [r.name, r.outcome, r.failedConstraint])).toEqual([
      ['staff', 'failed', 'email ends_with ["@company.com"] did not hold'],
      ['pro in DE', 'matched', null],
      ['old app', 'skipped', null],
    ]);
    const rules = evaluation.steps.find((s) => s.step === 'rules')!;
    expect(rules.detail).toBe(`rule 2 "pro in DE" matched: bucket ${bucketOf('ai', outside)} >= 5000 (50 %)`);
    const none = service.explain('ai', { userId: outside, attributes: { plan: 'pro', country: 'FR' } });
    expect(none.rules?.[1]?.failedConstraint).toBe('country in ["DE"] did not hold');
    const segmentFails = service.explain('ai', { userId: outside, attributes: { plan: 'free' } });
    expect(segmentFails.rules?.[1]?.failedConstraint).toBe('plan in ["pro"] (segment pro) did not hold');
    expect(segmentFails.steps.find((s) => s.step === 'rules')?.detail).toMatch(
      /^no rule matched \(rule 1 "staff": email/,
    );
    await service.close();
  });

  it('isFeatureEnabledForUser and evaluate keep working: rules on userId match, attribute rules do not', async () => {
    const service = await serviceFor({ name: '', reason: 'rule-match', step: 'rules' });
    // The staff rule reads the email attribute, which the user-id path does not have.
    expect(service.evaluate(inside, 'ai').reason).toBe('in-rollout');
    expect(service.isFeatureEnabledForUser(outside, 'ai')).toBe(false);
    expect(service.evaluate(outside, 'ai').steps.map((s) => s.step)).toContain('rules');
    // Features without targeting explain exactly as before.
    expect(service.evaluate(inside, 'base').steps.map((s) => s.step)).toEqual([
      'system',
      'feature',
      'blacklist',
      'beta',
      'strategy',
      'bucket',
    ]);
    await service.setRules('ai', [
      { constraints: [{ attribute: 'userId', operator: 'in', values: [outside] }] },
    ]);
    expect(service.evaluate(outside, 'ai').reason).toBe('rule-match');
    expect(service.isFeatureEnabledForUser(outside, 'ai')).toBe(true);
    await service.close();
  });

  it('a bad context answers off with a reason and never throws', async () => {
    const service = await serviceFor({ name: '', reason: 'rule-match', step: 'rules' });
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'jane',
      { userId: 42 },
      { userId: inside, attributes: 'x' },
      { userId: inside, attributes: [] },
    ];
    for (const context of bad) {
      expect(service.isEnabled('ai', context as never)).toBe(false);
      expect(() => service.explain('ai', context as never)).not.toThrow();
    }
    expect(service.getDecision('ai', { userId: inside, attributes: 'x' } as never).reason).toBe(
      'invalid-context',
    );
    expect(service.getDecision('ai', null as never).reason).toBe('invalid-context');
    expect(service.getDecision('ai', { userId: 42 } as never).reason).toBe('invalid-user');
    expect(service.getDecision('ai', { userId: '\ud800' }).reason).toBe('invalid-user');
    const odd = {
      userId: inside,
      attributes: JSON.parse('{"__proto__": {"email": "x@company.com"}, "email": null}'),
    };
    expect(service.getDecision('ai', odd).reason).toBe('in-rollout');
    for (const feature of ['toString', '__proto__', '', 42]) {
      expect(service.isEnabled(feature as string, { userId: inside })).toBe(false);
    }
    await service.close();
  });

  it('a cycle of prerequisites written to the store is never evaluated: its features answer off', async () => {
    const store = new MemoryStore();
    const service = await CanaryRolloutService.create<string>({
      store,
      config: {
        canaryRollout: {
          features: {
            a: { enabled: true, rolloutStrategy: 'stable' },
            b: { enabled: true, rolloutStrategy: 'stable' },
            c: { enabled: true, rolloutStrategy: 'stable', prerequisites: ['a'] },
          },
        },
      },
    });
    await service.setPrerequisites('a', ['b']);
    await expect(service.setPrerequisites('b', ['c'])).rejects.toThrow(
      'setPrerequisites: features.b.prerequisites.0: forms a cycle of prerequisites (b -> c -> a -> b), got "c"',
    );
    // Another writer that does not check (an older version, a hand edit) stores the cycle anyway.
    const b = (await store.readState()).features.find((f) => f.name === 'b')!;
    const { version, ...write } = b;
    await store.putFeature({ ...write, prerequisites: ['c'] }, version);
    await service.refresh();
    for (const feature of ['a', 'b', 'c']) {
      expect(service.getDecision(feature, { userId: 'u1' }).reason).toBe('prerequisite-cycle');
      expect(service.isFeatureEnabledForUser('u1', feature)).toBe(false);
    }
    expect(
      service.explain('a', { userId: 'u1' }).steps.find((s) => s.step === 'prerequisites')?.detail,
    ).toMatch(/never evaluated/);
    await service.close();
  });

  it('setRules validates with JSON paths and keeps the store unchanged on refusal', async () => {
    const service = await serviceFor({ name: '', reason: 'rule-match', step: 'rules' });
    const before = service.getFeature('ai')!;
    await expect(
      service.setRules('ai', [
        { constraints: [{ attribute: 'plan', operator: 'bigger' as never, value: 1 }] },
      ]),
    ).rejects.toThrow(
      /invalid setRules argument: 0\.constraints\.0\.operator: must be one of in, .*got "bigger"/,
    );
    await expect(service.setRules('ai', [{ segments: ['enterprise'] }])).rejects.toThrow(
      'features.ai.rules.0.segments.0: names no segment of canaryRollout.segments, got "enterprise"',
    );
    expect(service.getFeature('ai')).toEqual(before);
    const written = await service.setRules('ai', [{ segments: ['pro'], rolloutPercentage: 10 }]);
    expect(written.rules).toEqual([{ segments: ['pro'], rolloutPercentage: 10 }]);
    expect(service.getDecision('ai', { userId: outside, attributes: { plan: 'pro' } }).rule?.name).toBe(
      'rule 1',
    );
    await service.close();
  });
});
