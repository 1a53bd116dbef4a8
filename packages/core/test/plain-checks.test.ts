import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchemas, parseConfig } from '../src/schemas/config';
import { checkedConfig } from '../src/schemas/config-check';
import { type Check, FAIL } from '../src/schemas/plain-checks';
import { storedFeature, storedFeedback, storedUser } from '../src/schemas/record-checks';
import { recordSchemas } from '../src/schemas/records';

/**
 * The hand-written checks stand in for the zod schemas on the hot paths: whatever one accepts,
 * the schema accepts too and returns the same value, keys in the same order. What a check refuses
 * goes to the schema, so refusing too much only costs time.
 */
function agrees(check: Check, schema: { safeParse(value: unknown): { success: boolean; data?: unknown } }) {
  return (value: unknown): boolean => {
    const checked = check(value);
    if (checked === FAIL) return false;
    const parsed = schema.safeParse(value);
    expect(parsed.success, JSON.stringify(value)).toBe(true);
    expect(JSON.stringify(checked)).toBe(JSON.stringify(parsed.data));
    expect(checked).toStrictEqual(parsed.data);
    return true;
  };
}

/** Values at and around the schemas' limits, of every JSON type and some that JSON cannot hold. */
const oddValues = fc.constantFrom<unknown>(
  undefined,
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  0.5,
  0.1 + 0.2,
  1e-9,
  99.999,
  100,
  100.01,
  150,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  'a\0b',
  '__proto__',
  [],
  {},
);
const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 40, arbitrary: arb }, { weight: 1, arbitrary: oddValues });
const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('aiExtraction', 'ocr-fallback', 'a.b_c') },
  { weight: 1, arbitrary: fc.constantFrom('9lives', 'constructor', '', 'x'.repeat(65)) },
);
const percentage = maybe(
  fc.oneof(
    fc.integer({ min: 0, max: 100 }),
    fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100),
    fc.double({ min: -1, max: 101 }),
  ),
);
const ms = maybe(
  fc.oneof(
    { weight: 30, arbitrary: fc.integer({ min: 0, max: 10 ** 9 }) },
    { weight: 1, arbitrary: fc.double({ min: -1, max: 1e6 }) },
  ),
);
const step = maybe(
  fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 1, max: 100 }) },
    { weight: 1, arbitrary: fc.double({ min: -1, max: 120 }) },
  ),
);
const rate = maybe(
  fc.oneof(
    { weight: 9, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
    { weight: 1, arbitrary: fc.double({ min: -0.5, max: 1.5 }) },
  ),
);

/** An object with some of `fields`, and now and then a key no schema knows. */
function objectWith(
  fields: Record<string, fc.Arbitrary<unknown>>,
  required: readonly string[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.record(fields, { requiredKeys: [...required] }),
      fc.oneof(
        { weight: 20, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('unknownKey', 'healthySince') },
      ),
    )
    .map(([value, extra]) => (extra === null ? value : { ...value, [extra]: 1 }));
}

const feature = objectWith({
  enabled: maybe(fc.boolean()),
  rolloutPercentage: percentage,
  rolloutStrategy: maybe(fc.constantFrom('gradual', 'beta-only', 'stable', 'canary')),
  minStableTime: ms,
  maxErrorRate: rate,
  minSuccessRate: rate,
  maxStep: step,
  salt: maybe(fc.string({ minLength: 1, maxLength: 130 })),
});

const config = fc.record(
  {
    canaryRollout: objectWith({
      enabled: maybe(fc.boolean()),
      features: fc.dictionary(name, maybe(feature), { maxKeys: 4 }),
      thresholds: objectWith({
        maxErrorRate: rate,
        minSuccessRate: rate,
        globalErrorRate: rate,
        latencyWarningMs: ms,
        memoryWarningMb: ms,
        minSampleSize: ms,
        windowMs: ms,
        minStableTime: ms,
        maxStep: step,
      }),
      monitoring: objectWith({ intervalMs: ms, autoRollback: maybe(fc.boolean()), alertCooldownMs: ms }),
      experiments: objectWith({
        comparison: maybe(fc.constantFrom('off', 'alert', 'hold', 'rollback', 'always')),
        metrics: maybe(
          fc.array(fc.constantFrom('error-rate', 'latency', 'p95-latency', 'p99'), { maxLength: 3 }),
        ),
        alpha: rate,
        minSamples: ms,
        sampleRatioAlpha: rate,
      }),
      segments: fc.constantFrom({}, {}, {}, { beta: { constraints: [] } }),
      attributes: fc.constantFrom({}, {}, {}, { plan: 'string' }),
    }),
  },
  { requiredKeys: ['canaryRollout'] },
);

describe('the hand-written config check', () => {
  it('accepts only what canaryConfigSchema accepts, and returns what it returns', () => {
    let accepted = 0;
    fc.assert(
      fc.property(config, (input) => {
        if (agrees(checkedConfig, configSchemas().canaryConfig)(input)) accepted++;
      }),
      { numRuns: 3000 },
    );
    // The comparison means something only when the check accepts a fair share.
    expect(accepted).toBeGreaterThan(100);
  });

  it('takes the guide example and fills in the defaults as the schema does', () => {
    const text = readFileSync(
      new URL('../../../examples/document-sorter/config/canary-rollout.json', import.meta.url),
      'utf8',
    );
    expect(agrees(checkedConfig, configSchemas().canaryConfig)(JSON.parse(text))).toBe(true);
    expect(agrees(checkedConfig, configSchemas().canaryConfig)({ canaryRollout: {} })).toBe(true);
  });

  it('leaves what it does not know to the schema, whose messages name the field and value', () => {
    const input = { canaryRollout: { features: { a: { rolloutPercentage: 150, rules: [] } } } };
    expect(checkedConfig(input)).toBe(FAIL);
    expect(() => parseConfig(input)).toThrow(
      'features.a.rolloutPercentage: must be 0..100 in steps of 0.01, got 150',
    );
  });
});

const plan = objectWith(
  {
    status: maybe(fc.constantFrom('running', 'paused', 'completed', 'stopped', 'done')),
    stepIndex: ms,
    stepStartedAt: ms,
    reason: maybe(fc.string({ maxLength: 5 })),
    lastRollbackAt: ms,
  },
  ['status', 'stepIndex', 'stepStartedAt'],
);

describe('the hand-written record checks', () => {
  it('accept only feature records featureRecordSchema accepts, as it returns them', () => {
    const record = objectWith(
      {
        name,
        enabled: maybe(fc.boolean()),
        rolloutPercentage: percentage,
        rolloutStrategy: maybe(fc.constantFrom('gradual', 'beta-only', 'stable', 'canary')),
        salt: maybe(fc.string({ minLength: 1, maxLength: 130 })),
        version: ms,
        updatedAt: ms,
        stageStartedAt: ms,
        stageVersion: ms,
        lastRollbackAt: ms,
        plan: maybe(plan),
        prerequisites: maybe(fc.array(name, { maxLength: 3 })),
      },
      [
        'name',
        'enabled',
        'rolloutPercentage',
        'rolloutStrategy',
        'salt',
        'version',
        'updatedAt',
        'stageStartedAt',
      ],
    );
    let accepted = 0;
    fc.assert(
      fc.property(record, (value) => {
        if (agrees(storedFeature, recordSchemas().featureRecord)(value)) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('accept only users betaUserSchema accepts, as it returns them', () => {
    const user = objectWith(
      {
        id: maybe(fc.string({ minLength: 1, maxLength: 4 })),
        email: maybe(fc.string({ minLength: 3, maxLength: 8 })),
        name: maybe(fc.string({ maxLength: 4 })),
        interests: maybe(fc.array(name, { maxLength: 3 })),
        createdAt: ms,
      },
      ['id', 'email', 'name', 'interests', 'createdAt'],
    );
    let accepted = 0;
    fc.assert(
      fc.property(user, (value) => {
        if (agrees(storedUser, recordSchemas().betaUser)(value)) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('accept only feedback feedbackSchema accepts, as it returns it', () => {
    const feedback = objectWith(
      {
        id: maybe(fc.string({ maxLength: 3 })),
        userId: maybe(fc.string({ maxLength: 3 })),
        feature: name,
        rating: maybe(fc.integer({ min: 0, max: 6 })),
        comment: maybe(fc.string({ maxLength: 3 })),
        at: ms,
      },
      ['id', 'userId', 'feature', 'rating', 'at'],
    );
    let accepted = 0;
    fc.assert(
      fc.property(feedback, (value) => {
        if (agrees(storedFeedback, recordSchemas().feedback)(value)) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('leave a lone surrogate in an id, and a key given as undefined, to the schema', () => {
    const user = { id: 'u\ud800', email: 'a@b.c', name: '', interests: [], createdAt: 1 };
    expect(storedUser(user)).toBe(FAIL);
    expect(recordSchemas().betaUser.safeParse(user).success).toBe(false);
    expect(storedUser({ ...user, id: 'u1', extra: undefined })).not.toBe(FAIL);
    expect(storedUser({ ...user, id: 'u1', name: undefined })).toBe(FAIL);
  });
});
