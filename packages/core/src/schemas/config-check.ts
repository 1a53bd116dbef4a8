import type { CanaryConfig } from './config';
import {
  arrayOf,
  boolean,
  type Check,
  count,
  FAIL,
  type Field,
  intWhere,
  isPlain,
  numberWhere,
  objectOf,
  oneOf,
  recordOf,
  stringWhere,
} from './plain-checks';
import { featureName, percentage, rolloutStrategy } from './record-checks';

// `canaryConfigSchema` by hand for the settings most files hold; a feature with variants, a plan,
// bucketing, rules or prerequisites, and any segment or attribute, go to the schema (with them
// come the checks across features). Every default is the schema's.

const rate = numberWhere((n) => n >= 0 && n <= 1);
const positiveMs = intWhere((n) => n > 0);
const step = numberWhere((n) => n > 0 && n <= 100);
const probability = numberWhere((n) => n > 0 && n < 1);
const optional = (check: Check): Field => ({ check, absent: 'optional' });
const given = (check: Check, value: unknown): Field => ({
  check,
  absent: () => (Array.isArray(value) ? [...value] : value),
});
const never: Field = { check: () => FAIL, absent: 'optional' };

const feature = objectOf(
  {
    enabled: given(boolean, false),
    rolloutPercentage: given(percentage, 0),
    rolloutStrategy: given(rolloutStrategy, 'gradual'),
    minStableTime: optional(positiveMs),
    maxErrorRate: optional(rate),
    minSuccessRate: optional(rate),
    maxStep: optional(step),
    salt: optional(stringWhere(1, 128, (s) => !s.includes('\0'))),
    variants: never,
    plan: never,
    bucketing: never,
    rules: never,
    prerequisites: never,
  },
  'strict',
);

const thresholds = objectOf(
  {
    maxErrorRate: given(rate, 0.05),
    minSuccessRate: given(rate, 0.95),
    globalErrorRate: given(rate, 0.1),
    latencyWarningMs: given(
      numberWhere((n) => n > 0),
      5000,
    ),
    memoryWarningMb: given(
      numberWhere((n) => n > 0),
      512,
    ),
    minSampleSize: given(count, 100),
    windowMs: given(positiveMs, 300_000),
    minStableTime: optional(positiveMs),
    maxStep: optional(step),
  },
  'strict',
);

const monitoring = objectOf(
  {
    intervalMs: given(positiveMs, 30_000),
    autoRollback: given(boolean, true),
    alertCooldownMs: given(count, 600_000),
  },
  'strict',
);

const METRICS = ['error-rate', 'success-rate', 'latency', 'p50-latency', 'p95-latency'] as const;
const experiments = objectOf(
  {
    comparison: given(oneOf(['off', 'alert', 'hold', 'rollback']), 'alert'),
    metrics: given(arrayOf(oneOf(METRICS), 1), ['error-rate', 'success-rate']),
    alpha: given(probability, 0.05),
    minSamples: given(count, 100),
    sampleRatioAlpha: given(probability, 0.001),
  },
  'strict',
);

/** Only `{}`: segments and attributes bring checks across features, left to the schema. */
const empty: Check = (v) => (isPlain(v) && Reflect.ownKeys(v).length === 0 ? {} : FAIL);
const defaultOf =
  (check: Check): (() => unknown) =>
  () =>
    check({});

const config = objectOf(
  {
    canaryRollout: {
      check: objectOf(
        {
          enabled: given(boolean, true),
          features: { check: recordOf((name) => featureName(name) !== FAIL, feature), absent: () => ({}) },
          thresholds: { check: thresholds, absent: defaultOf(thresholds) },
          monitoring: { check: monitoring, absent: defaultOf(monitoring) },
          experiments: { check: experiments, absent: defaultOf(experiments) },
          segments: { check: empty, absent: () => ({}) },
          attributes: { check: empty, absent: () => ({}) },
        },
        'strict',
      ),
    },
  },
  'strict',
);

/**
 * The parsed configuration `canaryConfigSchema` would return for `input`, or `FAIL` when the
 * input is beyond this check (or wrong): the schema then decides and names every problem.
 */
export function checkedConfig(input: unknown): CanaryConfig | typeof FAIL {
  return config(input) as CanaryConfig | typeof FAIL;
}
