import type { CanaryRolloutService } from '@canary-rollout/core';
import { armOf, bucketOf, percentageToThreshold } from '@canary-rollout/core/experiments';

/** A generator of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32, seeded: the same synthetic traffic on every run. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** User ids of a feature (salt = name) by arm at `percentage`: treatment, control and the rest. */
export function usersByArm(feature: string, percentage: number, count: number, prefix = 'account') {
  const threshold = percentageToThreshold(percentage);
  const out = { treatment: [] as string[], control: [] as string[], outside: [] as string[] };
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    out[armOf(bucketOf(feature, id), threshold) ?? 'outside'].push(id);
  }
  return out;
}

/**
 * Sends `calls` calls through `runFeature` from users drawn from `users`: the feature fails with
 * probability `treatmentErrorRate`, the old path (the fallback) with `controlErrorRate`. Failures of
 * the fallback reach the caller, as in an app, and are swallowed here.
 */
export async function runCalls(
  rollout: CanaryRolloutService,
  feature: string,
  users: readonly string[],
  calls: number,
  random: Random,
  rates: { treatmentErrorRate: number; controlErrorRate: number },
): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const id = users[Math.floor(random() * users.length)]!;
    await rollout
      .runFeature(id, feature, {
        enabled: () => {
          if (random() < rates.treatmentErrorRate) throw new Error('model unavailable');
          return 'ai';
        },
        fallback: () => {
          if (random() < rates.controlErrorRate) throw new Error('ocr unavailable');
          return 'ocr';
        },
      })
      .catch(() => 'failed');
  }
}
