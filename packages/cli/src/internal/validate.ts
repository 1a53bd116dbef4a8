import {
  isValidEmail,
  isValidFeatureName,
  isValidPercentage,
  normalizePercentage,
} from '@canary-rollout/core';
import { UsageError } from './errors';

/**
 * `50`, `12.5`, `50%`: a number from 0 to 100 in steps of 0.01, on its exact step as the API
 * stores it (`0.300000001` is `0.3`, `-0` is `0`).
 */
export function parsePercentage(text: string): number {
  const match = /^(-?\d{1,3}(?:\.\d+)?)\s*%?$/.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]);
  if (!isValidPercentage(value)) {
    throw new UsageError(
      `percentage must be a number from 0 to 100 (steps of 0.01), got ${JSON.stringify(text)}`,
    );
  }
  return normalizePercentage(value);
}

/** Refuses text that is not an email address. The value is not echoed: it may be personal data. */
export function requireEmail(text: string): string {
  const email = text.trim();
  if (!isValidEmail(email)) {
    throw new UsageError('<email> is not an email address (expected something like name@example.com)');
  }
  return email;
}

/** A display name: not empty, at most 200 characters. */
export function requireName(text: string): string {
  const name = text.trim();
  if (name.length === 0 || name.length > 200) {
    throw new UsageError(`<name> must be 1 to 200 characters, got ${name.length}`);
  }
  return name;
}

/** A syntactically valid feature name (whether it exists is checked against the store). */
export function requireFeatureName(text: string): string {
  if (!isValidFeatureName(text)) {
    throw new UsageError(
      `invalid feature name ${JSON.stringify(text)} (a letter, then letters, digits, "_", "-" or ".")`,
    );
  }
  return text;
}

/** Unique feature names in the order given. */
export function requireFeatureNames(texts: readonly string[]): string[] {
  return [...new Set(texts.map(requireFeatureName))];
}
