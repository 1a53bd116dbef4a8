import { CanaryRolloutService, type EvaluationReason, ManualClock } from '@canary-rollout/core';
import type { AttributeValue } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { EVALUATION_EVENT, evaluationAttributes, instrumentRollout } from '../src/index';

/**
 * The attributes of the `feature_flag.evaluation` event in the OpenTelemetry semantic conventions
 * for feature flags (events), and the well-known values of `feature_flag.result.reason`.
 */
const CONVENTION_ATTRIBUTES = new Set([
  'feature_flag.key',
  'error.type',
  'feature_flag.result.value',
  'feature_flag.result.variant',
  'feature_flag.context.id',
  'error.message',
  'feature_flag.provider.name',
  'feature_flag.result.reason',
  'feature_flag.set.id',
  'feature_flag.version',
]);
const CONVENTION_REASONS = new Set([
  'cached',
  'default',
  'disabled',
  'error',
  'split',
  'stale',
  'static',
  'targeting_match',
  'unknown',
]);
const ALL_REASONS: EvaluationReason[] = [
  'system-disabled',
  'invalid-user',
  'unknown-feature',
  'feature-disabled',
  'blacklisted',
  'beta-member',
  'stable',
  'beta-only',
  'in-rollout',
  'outside-rollout',
];

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const config = {
  canaryRollout: {
    features: { aiExtraction: { enabled: true, rolloutPercentage: 50, rolloutStrategy: 'gradual' as const } },
  },
};
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Emitted = { eventName?: string; attributes?: Record<string, AttributeValue> };

async function setup(options: { sampleRate: number; includeUserId?: boolean; random?: () => number }) {
  const rollout = await CanaryRolloutService.create<string>({ config, clock: new ManualClock(T0) });
  const emitted: Emitted[] = [];
  const telemetry = instrumentRollout({
    rollout,
    evaluationEvents: { ...options, logger: { emit: (record) => emitted.push(record) } },
  });
  closers.push(
    () => rollout.close(),
    () => telemetry.close(),
  );
  return { rollout, emitted };
}

describe('feature_flag.evaluation events', () => {
  it('use only attribute names and reason values of the semantic conventions', () => {
    for (const reason of ALL_REASONS) {
      const attributes = evaluationAttributes('aiExtraction', reason, 3, 'canary-rollout', 'user-1');
      for (const name of Object.keys(attributes)) expect(CONVENTION_ATTRIBUTES, name).toContain(name);
      const value = attributes['feature_flag.result.reason'];
      expect(CONVENTION_REASONS, String(value)).toContain(value);
      expect(value).toBe(String(value).toLowerCase());
      expect(attributes['feature_flag.key']).toBe('aiExtraction');
      expect(attributes['feature_flag.version']).toBe('3');
    }
    expect(evaluationAttributes('x', 'unknown-feature', undefined, 'p')['error.type']).toBe('flag_not_found');
    expect(evaluationAttributes('x', 'in-rollout', undefined, 'p')).not.toHaveProperty('error.type');
  });

  it('are sampled at the rate the app sets', async () => {
    let seed = 1;
    // A fixed pseudo-random sequence: the share must come out near the rate, and be reproducible.
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const { rollout, emitted } = await setup({ sampleRate: 0.1, random });
    for (let i = 0; i < 10_000; i++) rollout.isFeatureEnabledForUser(`user-${i}`, 'aiExtraction');
    expect(emitted.length).toBeGreaterThan(850);
    expect(emitted.length).toBeLessThan(1150);
    for (const event of emitted) {
      expect(event.eventName).toBe(EVALUATION_EVENT);
      expect(event.attributes?.['feature_flag.result.reason']).toBe('split');
      expect(event.attributes?.['feature_flag.provider.name']).toBe('canary-rollout');
    }
  });

  it('never carry the user id or email unless the app opts in', async () => {
    const email = 'alice@example.com';
    const without = await setup({ sampleRate: 1 });
    without.rollout.isFeatureEnabledForUser(email, 'aiExtraction');
    without.rollout.isFeatureEnabledForUser(email, 'missing');
    expect(without.emitted).toHaveLength(2);
    expect(JSON.stringify(without.emitted)).not.toContain('alice');
    expect(without.emitted[1]!.attributes?.['error.type']).toBe('flag_not_found');

    const opted = await setup({ sampleRate: 1, includeUserId: true });
    opted.rollout.isFeatureEnabledForUser(email, 'aiExtraction');
    expect(opted.emitted[0]!.attributes?.['feature_flag.context.id']).toBe(email);
  });

  it('rejects a sample rate outside 0..1, naming it', async () => {
    const rollout = await CanaryRolloutService.create<string>({ config, clock: new ManualClock(T0) });
    closers.push(() => rollout.close());
    expect(() => instrumentRollout({ rollout, evaluationEvents: { sampleRate: 2 } })).toThrow(
      /evaluationEvents\.sampleRate.*2/,
    );
  });
});
