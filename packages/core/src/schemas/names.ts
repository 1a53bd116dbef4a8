import { z } from 'zod';
import { isWellFormedText, MAX_USER_ID_LENGTH } from '../storage/user-ids';
import { lazy } from './lazy';

/** Names that would reach an object's prototype if used as a key. */
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** Letters, digits, `_`, `-` and `.`, starting with a letter, at most 64 characters. */
export const FEATURE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** True when `name` may be used as a feature name. */
export function isValidFeatureName(name: unknown): name is string {
  return typeof name === 'string' && FEATURE_NAME_PATTERN.test(name) && !FORBIDDEN_NAMES.has(name);
}

/** Percentages run from 0 to 100 in steps of 0.01. */
export function isValidPercentage(value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) return false;
  const hundredths = value * 100;
  return Math.abs(hundredths - Math.round(hundredths)) < 1e-6;
}

/**
 * A valid percentage on its exact 0.01 step: `0.1 + 0.2` becomes `0.3`, `1e-9` becomes `0` and
 * `-0` becomes `0`, so the API, the CLI and the config file store the same number for the same
 * step. Call it on values `isValidPercentage` accepted.
 */
export function normalizePercentage(value: number): number {
  // `+ 0` turns -0 into 0.
  return Math.round(value * 100) / 100 + 0;
}

/** The rollout strategies, in the order the guide lists them. */
export const ROLLOUT_STRATEGIES = ['gradual', 'beta-only', 'stable'] as const;
/** How a feature chooses its users. */
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** The schemas of names, percentages and ids, built on first use. */
export const nameSchemas = lazy(() => ({
  featureName: z.string().refine(isValidFeatureName, {
    error: (issue) =>
      `must be a feature name (a letter, then letters, digits, "_", "-" or ".", at most 64; not __proto__, constructor or prototype), got ${JSON.stringify(issue.input)}`,
  }),
  percentage: z
    .number()
    .refine(isValidPercentage, {
      error: (issue) => `must be 0..100 in steps of 0.01, got ${JSON.stringify(issue.input)}`,
    })
    .transform(normalizePercentage),
  /** Ids are non-empty, well-formed strings of at most 256 characters. */
  userId: z
    .string()
    .min(1)
    .max(MAX_USER_ID_LENGTH)
    .refine(isWellFormedText, { error: 'must be well-formed UTF-16 (it holds a lone surrogate)' }),
  rolloutStrategy: z.enum(ROLLOUT_STRATEGIES),
}));
