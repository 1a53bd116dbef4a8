import { CanaryRolloutService, type Constraint, type EvaluationContext } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { compareSemver } from '../src/evaluation/semver';

/** A feature that is off by default (gradual 0 %) and on where its one constraint matches. */
function serviceWith(constraint: Constraint): CanaryRolloutService {
  return new CanaryRolloutService({
    config: {
      canaryRollout: {
        features: { f: { enabled: true, rolloutPercentage: 0, rules: [{ constraints: [constraint] }] } },
      },
    },
  });
}

type Case = [constraint: Constraint, attributes: EvaluationContext['attributes'], matches: boolean];

const cases: Case[] = [
  [{ attribute: 'plan', operator: 'in', values: ['pro', 'team'] }, { plan: 'pro' }, true],
  [{ attribute: 'plan', operator: 'in', values: ['pro', 'team'] }, { plan: 'Pro' }, false],
  [{ attribute: 'plan', operator: 'in', values: ['pro'], caseInsensitive: true }, { plan: 'PRO' }, true],
  [{ attribute: 'plan', operator: 'in', values: ['pro'] }, { plan: ['free', 'pro'] }, true],
  [{ attribute: 'seats', operator: 'in', values: [5, 10] }, { seats: 10 }, true],
  [{ attribute: 'seats', operator: 'in', values: ['10'] }, { seats: 10 }, false],
  [{ attribute: 'beta', operator: 'in', values: [true] }, { beta: true }, true],
  [{ attribute: 'plan', operator: 'not_in', values: ['free'] }, { plan: 'pro' }, true],
  [{ attribute: 'plan', operator: 'not_in', values: ['free'] }, { plan: 'free' }, false],
  [{ attribute: 'plan', operator: 'not_in', values: ['free'] }, {}, false],
  [
    { attribute: 'email', operator: 'ends_with', values: ['@company.com'] },
    { email: 'jane@company.com' },
    true,
  ],
  [
    { attribute: 'email', operator: 'ends_with', values: ['@company.com'] },
    { email: 'jane@COMPANY.com' },
    false,
  ],
  [
    { attribute: 'email', operator: 'ends_with', values: ['@company.com'], caseInsensitive: true },
    { email: 'jane@COMPANY.com' },
    true,
  ],
  [{ attribute: 'email', operator: 'ends_with', values: ['@company.com'] }, { email: 'm' }, false],
  [
    { attribute: 'tenant', operator: 'starts_with', values: ['acme-', 'globex-'] },
    { tenant: 'globex-eu' },
    true,
  ],
  [
    { attribute: 'tenant', operator: 'starts_with', values: ['ÄCME'], caseInsensitive: true },
    { tenant: 'äcme-1' },
    true,
  ],
  [{ attribute: 'ua', operator: 'contains', values: ['Firefox'] }, { ua: 'Mozilla Firefox/140' }, true],
  [
    { attribute: 'ua', operator: 'contains', values: ['firefox'], caseInsensitive: true },
    { ua: 'FIREFOX' },
    true,
  ],
  [{ attribute: 'tags', operator: 'contains', values: ['vip'] }, { tags: ['new', 'vip'] }, true],
  [{ attribute: 'tags', operator: 'contains', values: ['vip'] }, { tags: ['new'] }, false],
  [{ attribute: 'seats', operator: 'eq', value: 10 }, { seats: 10 }, true],
  [{ attribute: 'seats', operator: 'lt', value: 10 }, { seats: 9.5 }, true],
  [{ attribute: 'seats', operator: 'lt', value: 10 }, { seats: 10 }, false],
  [{ attribute: 'seats', operator: 'lte', value: 10 }, { seats: 10 }, true],
  [{ attribute: 'seats', operator: 'gt', value: 10 }, { seats: 11 }, true],
  [{ attribute: 'seats', operator: 'gte', value: 10 }, { seats: 9 }, false],
  [{ attribute: 'seats', operator: 'gt', value: 10 }, { seats: '11' }, false],
  [{ attribute: 'seats', operator: 'gt', value: 10 }, { seats: Number.NaN }, false],
  [{ attribute: 'seats', operator: 'lt', value: 10 }, { seats: Number.NEGATIVE_INFINITY }, false],
  [{ attribute: 'appVersion', operator: 'semver_gt', value: '3.2.0' }, { appVersion: '3.10.0' }, true],
  [{ attribute: 'appVersion', operator: 'semver_gt', value: '3.2.0' }, { appVersion: '3.2.0-rc.1' }, false],
  [{ attribute: 'appVersion', operator: 'semver_lt', value: '3.2.0' }, { appVersion: '3.2.0-rc.1' }, true],
  [{ attribute: 'appVersion', operator: 'semver_eq', value: '3.2.0' }, { appVersion: '3.2.0+build.7' }, true],
  [{ attribute: 'appVersion', operator: 'semver_gt', value: '3.2.0' }, { appVersion: 'v4' }, false],
  [{ attribute: 'appVersion', operator: 'semver_lt', value: '3.2.0' }, { appVersion: 3 }, false],
  [
    { attribute: 'signedUpAt', operator: 'before', value: '2026-01-01T00:00:00Z' },
    { signedUpAt: '2025-12-31T23:59:59Z' },
    true,
  ],
  [
    { attribute: 'signedUpAt', operator: 'before', value: '2026-01-01T00:00:00Z' },
    { signedUpAt: Date.UTC(2026, 0, 2) },
    false,
  ],
  [
    { attribute: 'signedUpAt', operator: 'after', value: '2026-01-01T00:00:00Z' },
    { signedUpAt: Date.UTC(2026, 0, 2) },
    true,
  ],
  [
    { attribute: 'signedUpAt', operator: 'after', value: '2026-01-01T00:00:00Z' },
    { signedUpAt: 'soon' },
    false,
  ],
  [{ attribute: 'plan', operator: 'in', values: ['pro'], inverted: true }, { plan: 'free' }, true],
  [{ attribute: 'plan', operator: 'in', values: ['pro'], inverted: true }, { plan: 'pro' }, false],
  // A missing or mistyped attribute matches no constraint, inverted or not.
  [{ attribute: 'plan', operator: 'in', values: ['pro'], inverted: true }, {}, false],
  [{ attribute: 'seats', operator: 'gt', value: 1, inverted: true }, { seats: 'many' }, false],
  // Only own keys are attributes.
  [{ attribute: 'toString', operator: 'contains', values: ['function'] }, {}, false],
  [{ attribute: 'userId', operator: 'ends_with', values: ['@company.com'] }, {}, true],
];

describe('constraint operators', () => {
  it.each(cases)('%j on %j: %s', (constraint, attributes, expected) => {
    const service = serviceWith(constraint);
    const context = { userId: 'jane@company.com', ...(attributes === undefined ? {} : { attributes }) };
    expect(service.isEnabled('f', context)).toBe(expected);
    expect(service.getDecision('f', context).reason).toBe(expected ? 'rule-match' : 'outside-rollout');
  });

  it('a list of 10,000 values is looked up like a short one', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => `tenant-${i}`);
    const service = serviceWith({ attribute: 'tenant', operator: 'in', values });
    expect(service.isEnabled('f', { userId: 'u', attributes: { tenant: 'tenant-9999' } })).toBe(true);
    expect(service.isEnabled('f', { userId: 'u', attributes: { tenant: 'tenant-10000' } })).toBe(false);
  });

  it('compares semantic versions by semver precedence', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.2.0',
      '1.10.0',
      '2.0.0',
    ];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(compareSemver(ordered[i]!, ordered[j]!), `${ordered[i]} vs ${ordered[j]}`).toBe(
          Math.sign(i - j),
        );
      }
    }
    for (const bad of ['', '1', '1.2', '01.2.3', '1.2.3-', '1.2.3-a..b', '1.2.3+', 'x.y.z', '1.2.3 ']) {
      expect(compareSemver(bad, '1.0.0'), bad).toBeNaN();
    }
  });
});
