import { z } from 'zod';
import { lazy } from './lazy';

/** The bucketing algorithms a feature may name; `canary-rollout` (ours) is the default. */
export const BUCKETING_ALGORITHMS = ['canary-rollout', 'unleash', 'growthbook', 'flagd'] as const;
/** A bucketing algorithm's name. */
export type BucketingAlgorithm = (typeof BUCKETING_ALGORITHMS)[number];

/**
 * How a feature picks its users. The default is ours (murmur3 of the salt and the UTF-8 id, 10,000
 * buckets); the others reproduce another tool's assignment exactly, for migrations.
 */
export const bucketingSchemas = lazy(() => {
  // Seeds and group ids are hashed, never used as keys; NUL is refused so they print and store cleanly.
  const hashInput = z
    .string()
    .max(256)
    .regex(/^[^\0]*$/, { error: 'must not contain NUL' });
  const bucketing = z.discriminatedUnion(
    'algorithm',
    [
      z.strictObject({ algorithm: z.literal('canary-rollout') }),
      z.strictObject({
        algorithm: z.literal('unleash'),
        /** Unleash's `groupId`. @default the feature name */
        groupId: hashInput.optional(),
      }),
      z.strictObject({
        algorithm: z.literal('growthbook'),
        /** GrowthBook's rule `seed`. @default the feature name */
        seed: hashInput.optional(),
        /** GrowthBook's `hashVersion`. @default 1 (as the GrowthBook SDK) */
        hashVersion: z
          .union([z.literal(1), z.literal(2)], {
            error: (issue) => `must be 1 or 2, got ${JSON.stringify(issue.input)}`,
          })
          .optional(),
      }),
      z.strictObject({
        algorithm: z.literal('flagd'),
        /** The string hashed before the user id (flagd's flag key or its shared seed). @default the feature name */
        seed: hashInput.optional(),
      }),
    ],
    {
      error: (issue) =>
        `must be one of ${BUCKETING_ALGORITHMS.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(
          (issue.input as { algorithm?: unknown } | undefined)?.algorithm ?? issue.input,
        )}`,
    },
  );
  return { bucketing };
});

/** A feature's `bucketing` setting. */
export type BucketingConfig = z.infer<ReturnType<typeof bucketingSchemas>['bucketing']>;

/** Why `percentage` cannot be used with `bucketing`, or undefined when it can. */
export function percentageProblem(
  bucketing: BucketingConfig | undefined,
  percentage: number,
): string | undefined {
  if (bucketing?.algorithm === 'unleash' && !Number.isInteger(percentage)) {
    return `must be a whole number with unleash bucketing (Unleash rolls out in steps of 1 %), got ${percentage}`;
  }
  return undefined;
}
