import type { MetricBucket } from '@canary-rollout/core';
import { expect } from 'vitest';

/** A canary-rollout error as seen from outside: checked by `code`, which survives duplicate copies of core. */
export interface CodedError extends Error {
  readonly code: string;
}

function isCodedError(value: unknown): value is CodedError {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'string';
}

/**
 * Awaits `promise`, expects it to reject with an error whose `code` is `code`, and returns the error.
 * Codes rather than `instanceof`: a store may bundle its own copy of core.
 */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<CodedError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await promise };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    expect.fail(`expected a rejection with code ${code}, but it resolved`);
  }
  const { error } = outcome;
  if (!isCodedError(error)) {
    expect.fail(`expected an error with code ${code}, got ${String(error)}`);
  }
  expect(error.code, error.message).toBe(code);
  return error;
}

/** Buckets in a fixed order (bucket start, feature, arm), for comparing sets of buckets. */
export function byKey(buckets: readonly MetricBucket[]): MetricBucket[] {
  return [...buckets].sort(
    (a, b) =>
      a.bucketStart - b.bucketStart ||
      a.feature.localeCompare(b.feature) ||
      a.arm.localeCompare(b.arm) ||
      (a.stage ?? 0) - (b.stage ?? 0),
  );
}

/** Sorted copy of a list of ids (membership lists have no defined order). */
export function sorted(values: readonly string[] | undefined): string[] {
  return [...(values ?? [])].sort();
}
