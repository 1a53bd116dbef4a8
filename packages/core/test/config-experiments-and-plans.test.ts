import { ConfigInvalidError, parseConfig } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';

function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return [...(error as ConfigInvalidError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}

const steps = [
  { percentage: 1, minDurationMs: 3_600_000, minSamples: 500 },
  { percentage: 5, minDurationMs: 3_600_000 },
  { percentage: 100, minDurationMs: 0 },
];

describe('config: variants, plans and experiments', () => {
  it('accepts variants, a plan and the experiments settings, with defaults', () => {
    const config = parseConfig({
      canaryRollout: {
        features: {
          aiExtraction: {
            enabled: true,
            variants: [
              { name: 'gpt-extract', weight: 50 },
              { name: 'rules', weight: 0.5 },
            ],
            plan: { steps },
          },
        },
      },
    });
    const feature = config.canaryRollout.features.aiExtraction!;
    expect(feature.variants).toHaveLength(2);
    expect(feature.plan).toEqual({ steps, onCritical: 'rollback' });
    expect(config.canaryRollout.experiments).toEqual({
      comparison: 'alert',
      metrics: ['error-rate', 'success-rate'],
      alpha: 0.05,
      minSamples: 100,
      sampleRatioAlpha: 0.001,
    });
    const custom = parseConfig({
      canaryRollout: { experiments: { comparison: 'rollback', alpha: 0.01 } },
    });
    expect(custom.canaryRollout.experiments).toMatchObject({ comparison: 'rollback', alpha: 0.01 });
  });

  it('rejects bad variant names, repeated names and weights that are not > 0, naming the path', () => {
    const found = problems({
      canaryRollout: {
        features: {
          f: {
            variants: [
              { name: 'a b', weight: 1 },
              { name: 'x', weight: 0 },
              { name: 'x', weight: 2 },
            ],
          },
        },
      },
    });
    expect(found.some((p) => p.startsWith('features.f.variants.0.name: must be a variant name'))).toBe(true);
    expect(found.some((p) => p.startsWith('features.f.variants.1.weight:') && p.endsWith('got 0'))).toBe(
      true,
    );
    expect(found).toContain('features.f.variants.2.name: appears twice, got "x"');
    expect(problems({ canaryRollout: { features: { f: { variants: [] } } } })[0]).toMatch(
      /^features\.f\.variants: /,
    );
  });

  it('rejects plans whose steps do not rise, are not percentages, or cannot pass maxStep', () => {
    expect(
      problems({
        canaryRollout: {
          features: {
            f: {
              plan: {
                steps: [
                  { percentage: 5, minDurationMs: 1 },
                  { percentage: 5, minDurationMs: 1 },
                  { percentage: 0.001, minDurationMs: 1 },
                ],
              },
            },
          },
        },
      }),
    ).toEqual([
      'features.f.plan.steps.2.percentage: must be 0..100 in steps of 0.01, got 0.001',
      'features.f.plan.steps.1.percentage: must be above the step before (5), got 5',
      'features.f.plan.steps.2.percentage: must be above the step before (5), got 0.001',
    ]);
    expect(
      problems({
        canaryRollout: {
          features: {
            f: {
              plan: {
                steps: [
                  { percentage: 5, minDurationMs: 1 },
                  { percentage: 5, minDurationMs: 1 },
                ],
              },
            },
          },
        },
      }),
    ).toEqual(['features.f.plan.steps.1.percentage: must be above the step before (5), got 5']);
    expect(
      problems({ canaryRollout: { features: { f: { plan: { steps: [], onCritical: 'panic' } } } } }),
    ).toHaveLength(2);
    expect(
      problems({
        canaryRollout: { features: { f: { maxStep: 25, plan: { steps: [...steps] } } } },
      }),
    ).toEqual(['features.f.plan.steps.2.percentage: raises from 5 % by more than maxStep 25, got 100']);
    expect(
      problems({
        canaryRollout: { features: { f: { rolloutStrategy: 'stable', plan: { steps } } } },
      }),
    ).toEqual(['features.f.plan: needs rolloutStrategy "gradual", got "stable"']);
    expect(problems({ canaryRollout: { experiments: { comparison: 'maybe', alpha: 1 } } })).toHaveLength(2);
  });
});
