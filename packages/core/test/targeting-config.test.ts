import { ConfigInvalidError, parseConfig } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';

function issuesOf(features: unknown, extra: Record<string, unknown> = {}): readonly string[] {
  try {
    parseConfig({ canaryRollout: { features, ...extra } });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return (error as ConfigInvalidError).issues;
  }
  throw new Error('the configuration was accepted');
}

const rule = (constraints: unknown[], more: Record<string, unknown> = {}) => ({
  rules: [{ constraints, ...more }],
});

describe('targeting in the config file', () => {
  it('accepts rules, segments, prerequisites and attribute declarations', () => {
    const config = parseConfig({
      canaryRollout: {
        attributes: { plan: 'string', seats: 'number', appVersion: 'semver', signedUpAt: 'date' },
        segments: { pro: { constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] } },
        features: {
          base: { enabled: true, rolloutStrategy: 'stable' },
          aiExtraction: {
            enabled: true,
            prerequisites: ['base'],
            rules: [
              {
                name: 'pro in DE',
                segments: ['pro'],
                constraints: [
                  { attribute: 'country', operator: 'in', values: ['de'], caseInsensitive: true },
                ],
                rolloutPercentage: 25,
              },
              { constraints: [{ attribute: 'appVersion', operator: 'semver_gt', value: '3.2.0' }] },
              {
                constraints: [{ attribute: 'signedUpAt', operator: 'before', value: '2026-01-01T00:00:00Z' }],
              },
              { constraints: [{ attribute: 'seats', operator: 'gte', value: 10, inverted: true }] },
            ],
          },
        },
      },
    });
    const ai = config.canaryRollout.features.aiExtraction!;
    expect(ai.rules).toHaveLength(4);
    expect(ai.rules![0]!.rolloutPercentage).toBe(25);
    expect(config.canaryRollout.segments.pro!.constraints).toHaveLength(1);
  });

  it('refuses an unknown operator with its path and value', () => {
    const issues = issuesOf({ a: rule([{ attribute: 'plan', operator: 'greater', value: 3 }]) });
    expect(issues.join('\n')).toMatch(
      /^features\.a\.rules\.0\.constraints\.0\.operator: must be one of in, not_in, .*got "greater"$/m,
    );
  });

  it('refuses a number operator on an attribute declared as text, and on one compared as text elsewhere', () => {
    const declared = issuesOf(
      { a: rule([{ attribute: 'country', operator: 'gt', value: 3 }]) },
      { attributes: { country: 'string' } },
    );
    expect(declared).toEqual([
      'features.a.rules.0.constraints.0.operator: "gt" does not apply to attribute "country" of type string, got "gt"',
    ]);
    const inferred = issuesOf({
      a: rule([{ attribute: 'country', operator: 'starts_with', values: ['D'] }]),
      b: rule([{ attribute: 'country', operator: 'lt', value: 5 }]),
    });
    expect(inferred).toEqual([
      'features.b.rules.0.constraints.0.operator: "lt" compares attribute "country" as number, but features.a.rules.0.constraints.0 compares it as text, got "lt"',
    ]);
  });

  it('refuses a value that does not fit its operator', () => {
    expect(issuesOf({ a: rule([{ attribute: 'seats', operator: 'gt', value: 'ten' }]) })).toEqual([
      'features.a.rules.0.constraints.0.value: must be a finite number for "gt", got "ten"',
    ]);
    expect(issuesOf({ a: rule([{ attribute: 'v', operator: 'semver_lt', value: '3.2' }]) })).toEqual([
      'features.a.rules.0.constraints.0.value: must be a semantic version (MAJOR.MINOR.PATCH) for "semver_lt", got "3.2"',
    ]);
    expect(issuesOf({ a: rule([{ attribute: 'd', operator: 'after', value: 'yesterday' }]) })).toEqual([
      'features.a.rules.0.constraints.0.value: must be an ISO 8601 date or epoch ms for "after", got "yesterday"',
    ]);
    expect(issuesOf({ a: rule([{ attribute: 'p', operator: 'in' }]) })).toEqual([
      'features.a.rules.0.constraints.0.values: is required by "in", got nothing',
    ]);
    expect(issuesOf({ a: rule([{ attribute: 'p', operator: 'starts_with', values: [3] }]) })).toEqual([
      'features.a.rules.0.constraints.0.values.0: must be text for "starts_with", got 3',
    ]);
    expect(issuesOf({ a: { rules: [{ rolloutPercentage: 10 }] } })).toEqual([
      'features.a.rules.0: needs at least one constraint or segment, got none',
    ]);
    expect(
      issuesOf({ a: rule([{ attribute: 'p', operator: 'in', values: ['x'] }], { rolloutPercentage: 150 }) }),
    ).toEqual(['features.a.rules.0.rolloutPercentage: must be 0..100 in steps of 0.01, got 150']);
  });

  it('refuses a segment that does not exist', () => {
    expect(issuesOf({ a: { rules: [{ segments: ['pro'] }] } })).toEqual([
      'features.a.rules.0.segments.0: names no segment of canaryRollout.segments, got "pro"',
    ]);
  });

  it('refuses prerequisites that do not exist or form a cycle', () => {
    expect(issuesOf({ a: { prerequisites: ['nope'] } })).toEqual([
      'features.a.prerequisites.0: names no feature of the configuration, got "nope"',
    ]);
    expect(issuesOf({ a: { prerequisites: ['a'] } })).toEqual([
      'features.a.prerequisites.0: forms a cycle of prerequisites (a -> a), got "a"',
    ]);
    expect(
      issuesOf({
        c: { prerequisites: ['a'] },
        a: { prerequisites: ['b'] },
        b: { prerequisites: ['x', 'c'] },
        x: {},
      }),
    ).toEqual(['features.a.prerequisites.0: forms a cycle of prerequisites (a -> b -> c -> a), got "b"']);
  });

  it('finds a cycle at the end of a chain of 5,000 prerequisites without exhausting the stack', () => {
    const features: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) features[`f${i}`] = { prerequisites: [`f${i + 1}`] };
    features.f5000 = { prerequisites: ['f4999'] };
    expect(issuesOf(features)).toEqual([
      'features.f4999.prerequisites.0: forms a cycle of prerequisites (f4999 -> f5000 -> f4999), got "f5000"',
    ]);
  });

  it('refuses prototype names as segment and attribute names', () => {
    const segments = issuesOf({}, { segments: JSON.parse('{"__proto__": {"constraints": []}}') });
    expect(segments[0]).toMatch(/^segments\.__proto__: must be a segment name/);
    const attribute = issuesOf({ a: rule([{ attribute: 'constructor', operator: 'in', values: ['x'] }]) });
    expect(attribute[0]).toMatch(
      /^features\.a\.rules\.0\.constraints\.0\.attribute: must be an attribute name .*got "constructor"$/,
    );
  });

  it('refuses unknown keys in a constraint and a rule', () => {
    expect(
      issuesOf({ a: rule([{ attribute: 'p', operator: 'in', values: ['x'], case_insensitive: true }]) }),
    ).toEqual(['features.a.rules.0.constraints.0.case_insensitive: unknown key']);
  });
});
