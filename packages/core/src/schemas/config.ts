import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigInvalidError } from '../errors';
import { VARIANT_NAME_PATTERN } from '../experiments/variants';
import { type BucketingConfig, bucketingSchemas, percentageProblem } from './bucketing';
import { checkedConfig } from './config-check';
import { jsonTextIssues, MAX_CONFIG_DEPTH } from './json-text';
import { lazy } from './lazy';
import { nameSchemas } from './names';
import { FAIL } from './plain-checks';
import { targetingIssues, targetingSchemas } from './targeting';

/** The configuration's schemas, built on first use (`parseConfig` takes a hand-written path first). */
export const configSchemas = lazy(() => {
  const { featureName, percentage, rolloutStrategy } = nameSchemas();
  const { bucketing } = bucketingSchemas();
  const { attributes, prerequisites, rules, segments } = targetingSchemas();
  const rate = z.number().min(0).max(1);
  const positiveMs = z.number().int().positive();

  /** One weighted variant of a feature (A/B/n). */
  const variantConfigSchema = z.strictObject({
    /** Letters, digits, `_`, `.`, `-`; at most 72 characters (it names the metrics arm `variant:<name>`). */
    name: z.string().regex(VARIANT_NAME_PATTERN, {
      error: (issue) =>
        `must be a variant name (letters, digits, "_", "." or "-", 1 to 72), got ${JSON.stringify(issue.input)}`,
    }),
    /** Relative weight, > 0. */
    weight: z.number().positive().finite(),
  });

  const variantsSchema = z
    .array(variantConfigSchema)
    .min(1)
    .superRefine((variants, ctx) => {
      const seen = new Set<string>();
      variants.forEach((v, i) => {
        if (seen.has(v.name)) {
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `appears twice, got "${v.name}"` });
        }
        seen.add(v.name);
      });
    });

  /** One step of a progressive rollout plan. */
  const planStepConfigSchema = z.strictObject({
    /** The rollout percentage of this step, > 0. */
    percentage: percentage.refine((p) => p > 0, { error: 'must be > 0' }),
    /** How long the step must run healthy before the next (ms). */
    minDurationMs: z.number().int().nonnegative(),
    /** Treatment calls the step must have seen before the next. @default none */
    minSamples: z.number().int().nonnegative().optional(),
  });

  /** A progressive rollout plan: steps of percentage and minimum duration, driven by the monitor. */
  const planConfigSchema = z.strictObject({
    steps: z
      .array(planStepConfigSchema)
      .min(1)
      .superRefine((steps, ctx) => {
        for (let i = 1; i < steps.length; i++) {
          if (steps[i]!.percentage <= steps[i - 1]!.percentage) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'percentage'],
              message: `must be above the step before (${steps[i - 1]!.percentage}), got ${steps[i]!.percentage}`,
            });
          }
        }
      }),
    /** On a critical verdict: roll back, or go one step down and pause the plan. */
    onCritical: z.enum(['rollback', 'step-down']).default('rollback'),
  });

  /** Per-feature settings of `config/canary-rollout.json`. */
  const featureConfigSchema = z.strictObject({
    enabled: z.boolean().default(false),
    rolloutPercentage: percentage.default(0),
    rolloutStrategy: rolloutStrategy.default('gradual'),
    /** Time (ms) a feature must run healthy at its percentage before a raise. No default. */
    minStableTime: positiveMs.optional(),
    /** @default 0.05 (falls back to `thresholds.maxErrorRate`) */
    maxErrorRate: rate.optional(),
    /** @default 0.95 (falls back to `thresholds.minSuccessRate`) */
    minSuccessRate: rate.optional(),
    /** Largest raise of the percentage in one change, in points. Off unless set. */
    maxStep: z.number().positive().max(100).optional(),
    /** Hash salt; change it to re-draw who is in the rollout. @default the feature name */
    salt: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\0]+$/)
      .optional(),
    /** Weighted variants (A/B/n), assigned by `getVariant` and passed to `runFeature`. @default none */
    variants: variantsSchema.optional(),
    /** A progressive rollout plan the monitor walks. @default none */
    plan: planConfigSchema.optional(),
    /**
     * How users are picked: ours, or another tool's exact assignment (`unleash`, `growthbook`,
     * `flagd`) so a migrated rollout keeps its users. @default `{ algorithm: "canary-rollout" }`
     */
    bucketing: bucketing.optional(),
    /**
     * Targeting rules, tried in order before the strategy: the first whose constraints all match
     * decides, by its own percentage. @default none
     */
    rules: rules.optional(),
    /** Features that must be on for the same context for this one to be on. @default none */
    prerequisites: prerequisites.optional(),
  });

  /** Thresholds for every feature, and the global ones. */
  const thresholdsConfigSchema = z.strictObject({
    maxErrorRate: rate.default(0.05),
    minSuccessRate: rate.default(0.95),
    globalErrorRate: rate.default(0.1),
    /** Warning when p95 latency exceeds this (ms). */
    latencyWarningMs: z.number().positive().default(5000),
    /** Warning when the process's RSS exceeds this (MB). */
    memoryWarningMb: z.number().positive().default(512),
    /** Below this many calls in a window no finding is critical. */
    minSampleSize: z.number().int().nonnegative().default(100),
    /** Length of the sliding metrics window (ms). */
    windowMs: positiveMs.default(300_000),
    minStableTime: positiveMs.optional(),
    maxStep: z.number().positive().max(100).optional(),
  });

  /** Settings of the monitoring loop. */
  const monitoringConfigSchema = z.strictObject({
    /** Tick interval (ms). */
    intervalMs: positiveMs.default(30_000),
    /** Roll back by itself on a critical verdict. */
    autoRollback: z.boolean().default(true),
    /** One incident gives one alert per this period (ms). */
    alertCooldownMs: z.number().int().nonnegative().default(600_000),
  });

  /** Treatment against control: how the monitor compares and what it does with the verdict. */
  const experimentsConfigSchema = z.strictObject({
    /**
     * `off`: no comparison; `alert`: alert when the treatment is worse; `hold`: also keep plans from
     * advancing while worse or inconclusive; `rollback`: roll back when worse.
     */
    comparison: z.enum(['off', 'alert', 'hold', 'rollback']).default('alert'),
    /**
     * The metrics whose verdict counts: a treatment worse on one of them is `worse`. The others
     * are compared and reported only (a new path may be slower by design).
     */
    metrics: z
      .array(z.enum(['error-rate', 'success-rate', 'latency', 'p50-latency', 'p95-latency']))
      .min(1)
      .default(['error-rate', 'success-rate']),
    /** Chance of ever calling equal arms different, over a whole stage and every metric that counts. */
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Below this many calls in an arm the comparison is inconclusive. */
    minSamples: z.number().int().nonnegative().default(100),
    /** P-value below which the split of users between the arms is called broken. */
    sampleRatioAlpha: z.number().gt(0).lt(1).default(0.001),
  });

  const featuresSchema = z.record(featureName, featureConfigSchema);

  /** Schema of the guide's `config/canary-rollout.json`. */
  const canaryConfigSchema = z.strictObject({
    canaryRollout: z
      .strictObject({
        enabled: z.boolean().default(true),
        features: featuresSchema.default({}),
        thresholds: thresholdsConfigSchema.default(thresholdsConfigSchema.parse({})),
        monitoring: monitoringConfigSchema.default(monitoringConfigSchema.parse({})),
        experiments: experimentsConfigSchema.default(experimentsConfigSchema.parse({})),
        /** Named constraint lists that rules of many features use. @default none */
        segments: segments.default({}),
        /** Declared kinds of context attributes, checked against the operators used on them. @default none */
        attributes: attributes.default({}),
      })
      .superRefine(checkPlanSteps)
      .superRefine(checkBucketing)
      .superRefine((root, ctx) => {
        for (const issue of targetingIssues(root.features, root.segments, root.attributes))
          ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      }),
  });
  return {
    variantConfig: variantConfigSchema,
    planStepConfig: planStepConfigSchema,
    planConfig: planConfigSchema,
    featureConfig: featureConfigSchema,
    thresholdsConfig: thresholdsConfigSchema,
    monitoringConfig: monitoringConfigSchema,
    experimentsConfig: experimentsConfigSchema,
    canaryConfig: canaryConfigSchema,
  };
});

type ConfigSchemas = ReturnType<typeof configSchemas>;

/** What the checks across a feature's settings read (the schemas' types would refer to themselves). */
interface CheckedFeature {
  rolloutPercentage: number;
  rolloutStrategy: string;
  maxStep?: number | undefined;
  variants?: { weight: number }[] | undefined;
  plan?: { steps: { percentage: number }[] } | undefined;
  bucketing?: BucketingConfig | undefined;
}

/** A plan's raises go through the maxStep guard: refuse a plan that could never be walked. */
function checkPlanSteps(
  root: {
    features: Record<string, CheckedFeature>;
    thresholds: { maxStep?: number | undefined };
  },
  ctx: z.RefinementCtx,
): void {
  for (const [name, feature] of Object.entries(root.features)) {
    const plan = feature.plan;
    if (plan === undefined) continue;
    if (feature.rolloutStrategy !== 'gradual') {
      ctx.addIssue({
        code: 'custom',
        path: ['features', name, 'plan'],
        message: `needs rolloutStrategy "gradual", got "${feature.rolloutStrategy}"`,
      });
    }
    const maxStep = feature.maxStep ?? root.thresholds.maxStep;
    if (maxStep === undefined) continue;
    let from = 0;
    plan.steps.forEach((step, i) => {
      if (step.percentage - from > maxStep + 1e-9) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', name, 'plan', 'steps', i, 'percentage'],
          message: `raises from ${from} % by more than maxStep ${maxStep}, got ${step.percentage}`,
        });
      }
      from = step.percentage;
    });
  }
}

/** Percentages a feature's bucketing cannot express (fractions in unleash mode). */
function checkBucketing(root: { features: Record<string, CheckedFeature> }, ctx: z.RefinementCtx): void {
  for (const [name, feature] of Object.entries(root.features)) {
    if (feature.bucketing === undefined) continue;
    if (feature.bucketing.algorithm === 'unleash') {
      feature.variants?.forEach((variant, i) => {
        if (!Number.isInteger(variant.weight)) {
          ctx.addIssue({
            code: 'custom',
            path: ['features', name, 'variants', i, 'weight'],
            message: `must be a whole number with unleash bucketing (Unleash weighs variants in whole parts), got ${variant.weight}`,
          });
        }
      });
    }
    const problem = percentageProblem(feature.bucketing, feature.rolloutPercentage);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['features', name, 'rolloutPercentage'], message: problem });
    }
    feature.plan?.steps.forEach((step, i) => {
      const stepProblem = percentageProblem(feature.bucketing, step.percentage);
      if (stepProblem !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', name, 'plan', 'steps', i, 'percentage'],
          message: stepProblem,
        });
      }
    });
  }
}

/** A parsed configuration with every default filled in. */
export type CanaryConfig = z.infer<ConfigSchemas['canaryConfig']>;
/** What may be written in the file (defaults optional). */
export type CanaryConfigInput = z.input<ConfigSchemas['canaryConfig']>;
/** One feature's parsed settings. */
export type FeatureConfig = z.infer<ConfigSchemas['featureConfig']>;
/** Parsed thresholds. */
export type ThresholdsConfig = z.infer<ConfigSchemas['thresholdsConfig']>;
/** A parsed progressive rollout plan. */
export type PlanConfig = z.infer<ConfigSchemas['planConfig']>;
/** One step of a plan. */
export type PlanStepConfig = z.infer<ConfigSchemas['planStepConfig']>;
/** One weighted variant. */
export type VariantConfig = z.infer<ConfigSchemas['variantConfig']>;
/** One targeting rule as configured. */
export type RuleConfig = z.infer<ReturnType<typeof targetingSchemas>['rules']>[number];
/** Parsed `canaryRollout.experiments`. */
export type ExperimentsConfig = z.infer<ConfigSchemas['experimentsConfig']>;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Formats zod issues as `path: message, got value` lines. */
function formatIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'invalid_key') {
      lines.push(`${path}: ${issue.issues[0]?.message ?? 'invalid key'}`);
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${path === '(root)' ? key : `${path}.${key}`}: unknown key`);
      continue;
    }
    const message = issue.message.replace(/^Invalid input: /, '');
    lines.push(
      message.includes(', got ')
        ? `${path}: ${message}`
        : `${path}: ${message}, got ${describe(issue.input)}`,
    );
  }
  return lines;
}

/**
 * Validates a configuration object. Throws `ConfigInvalidError` listing every problem by JSON
 * path and value (`features.aiExtraction.rolloutPercentage: must be 0..100 ..., got 150`).
 */
export function parseConfig(input: unknown, source = 'configuration'): CanaryConfig {
  const deep = depthIssue(input);
  if (deep !== undefined) {
    throw new ConfigInvalidError(`@canary-rollout/core: invalid ${source}:\n  ${deep}`, [deep]);
  }
  // JSON.parse makes "__proto__" an own key, which zod's record drops without a word.
  const prototypeKeys = prototypeKeyIssues(input);
  if (prototypeKeys.length === 0) {
    const checked = checkedConfig(input);
    if (checked !== FAIL) return withoutPrototype(checked);
  }
  const result = configSchemas().canaryConfig.safeParse(input, { reportInput: true });
  if (result.success && prototypeKeys.length === 0) return withoutPrototype(result.data);
  const issues = [...prototypeKeys, ...(result.success ? [] : formatIssues(result.error))].map((line) =>
    line.replace(/^canaryRollout\./, ''),
  );
  throw new ConfigInvalidError(`@canary-rollout/core: invalid ${source}:\n  ${issues.join('\n  ')}`, issues);
}

/** A configuration nested past `MAX_CONFIG_DEPTH` (validating it would exhaust the stack), found without recursion. */
function depthIssue(input: unknown): string | undefined {
  const queue: [unknown, number, string][] = [[input, 0, '']];
  const seen = new Set<object>();
  while (queue.length > 0) {
    const [value, depth, path] = queue.pop() as [unknown, number, string];
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    if (depth >= MAX_CONFIG_DEPTH) {
      return `${path.replace(/^canaryRollout\.?/, '') || '(root)'}: nested deeper than ${MAX_CONFIG_DEPTH} levels`;
    }
    seen.add(value);
    for (const [key, child] of Object.entries(value))
      queue.push([child, depth + 1, path === '' ? key : `${path}.${key}`]);
  }
  return undefined;
}

/**
 * Feature settings keyed by name without a prototype: a lookup of a feature the file does not
 * declare (`features.hasOwnProperty`, `features.toString`) answers undefined, not a function.
 */
function withoutPrototype(config: CanaryConfig): CanaryConfig {
  const features: CanaryConfig['canaryRollout']['features'] = Object.create(null);
  Object.assign(features, config.canaryRollout.features);
  return { ...config, canaryRollout: { ...config.canaryRollout, features } };
}

function prototypeKeyIssues(input: unknown): string[] {
  const root = (input as { canaryRollout?: Record<string, unknown> } | null)?.canaryRollout;
  if (typeof root !== 'object' || root === null) return [];
  const issues: string[] = [];
  for (const [section, what] of [
    ['features', 'a feature name'],
    ['segments', 'a segment name'],
    ['attributes', 'an attribute name'],
  ] as const) {
    const keys = root[section];
    if (typeof keys !== 'object' || keys === null) continue;
    for (const key of Object.keys(keys)) {
      if (key === '__proto__')
        issues.push(
          `${section}.${key}: must be ${what} (not __proto__, constructor or prototype), got "${key}"`,
        );
    }
  }
  return issues;
}

/** Reads and validates `config/canary-rollout.json` (or another path). */
export function loadConfigFile(path: string): CanaryConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigInvalidError(
      `@canary-rollout/core: cannot read config file ${path}: ${code}`,
      [`(file): ${code}`],
      { cause },
    );
  }
  // Editors on Windows may save a byte order mark; it is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigInvalidError(
      `@canary-rollout/core: config file ${path} is not valid JSON: ${message}`,
      [`(file): ${message}`],
      { cause },
    );
  }
  const textIssues = jsonTextIssues(text).map((line) => line.replace(/^canaryRollout\./, ''));
  if (textIssues.length > 0) {
    throw new ConfigInvalidError(
      `@canary-rollout/core: invalid config file ${path}:\n  ${textIssues.join('\n  ')}`,
      textIssues,
    );
  }
  return parseConfig(json, `config file ${path}`);
}

/** The default configuration: system on, no features, the guide's thresholds. */
export function defaultConfig(): CanaryConfig {
  return parseConfig({ canaryRollout: {} });
}
