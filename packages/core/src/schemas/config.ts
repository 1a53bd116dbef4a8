import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigInvalidError } from '../errors';
import { featureNameSchema, percentageSchema, rolloutStrategySchema } from './names';

const rate = z.number().min(0).max(1);
const positiveMs = z.number().int().positive();

/** Per-feature settings of `config/canary-rollout.json`. */
export const featureConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  rolloutPercentage: percentageSchema.default(0),
  rolloutStrategy: rolloutStrategySchema.default('gradual'),
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
});

/** Thresholds for every feature, and the global ones. */
export const thresholdsConfigSchema = z.strictObject({
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
export const monitoringConfigSchema = z.strictObject({
  /** Tick interval (ms). */
  intervalMs: positiveMs.default(30_000),
  /** Roll back by itself on a critical verdict. */
  autoRollback: z.boolean().default(true),
  /** One incident gives one alert per this period (ms). */
  alertCooldownMs: z.number().int().nonnegative().default(600_000),
});

const featuresSchema = z.record(featureNameSchema, featureConfigSchema);

/** Schema of the guide's `config/canary-rollout.json`. */
export const canaryConfigSchema = z.strictObject({
  canaryRollout: z.strictObject({
    enabled: z.boolean().default(true),
    features: featuresSchema.default({}),
    thresholds: thresholdsConfigSchema.default(thresholdsConfigSchema.parse({})),
    monitoring: monitoringConfigSchema.default(monitoringConfigSchema.parse({})),
  }),
});

/** A parsed configuration with every default filled in. */
export type CanaryConfig = z.infer<typeof canaryConfigSchema>;
/** What may be written in the file (defaults optional). */
export type CanaryConfigInput = z.input<typeof canaryConfigSchema>;
/** One feature's parsed settings. */
export type FeatureConfig = z.infer<typeof featureConfigSchema>;
/** Parsed thresholds. */
export type ThresholdsConfig = z.infer<typeof thresholdsConfigSchema>;

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
  // JSON.parse makes "__proto__" an own key, which zod's record drops without a word.
  const prototypeKeys = prototypeKeyIssues(input);
  const result = canaryConfigSchema.safeParse(input, { reportInput: true });
  if (result.success && prototypeKeys.length === 0) return result.data;
  const issues = [...prototypeKeys, ...(result.success ? [] : formatIssues(result.error))].map((line) =>
    line.replace(/^canaryRollout\./, ''),
  );
  throw new ConfigInvalidError(`@canary-rollout/core: invalid ${source}:\n  ${issues.join('\n  ')}`, issues);
}

function prototypeKeyIssues(input: unknown): string[] {
  const features = (input as { canaryRollout?: { features?: unknown } } | null)?.canaryRollout?.features;
  if (typeof features !== 'object' || features === null) return [];
  return Object.keys(features)
    .filter((key) => key === '__proto__')
    .map(
      (key) =>
        `features.${key}: must be a feature name (not __proto__, constructor or prototype), got "${key}"`,
    );
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
  return parseConfig(json, `config file ${path}`);
}

/** The default configuration: system on, no features, the guide's thresholds. */
export function defaultConfig(): CanaryConfig {
  return parseConfig({ canaryRollout: {} });
}
