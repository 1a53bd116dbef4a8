/**
 * What the fleet-store benchmarks (Redis, PostgreSQL) share: timing helpers, the flush of 100
 * features they all send, and evaluation with a store attached against a MemoryStore.
 */
import {
  CanaryRolloutService,
  MemoryStore,
  type MetricBucket,
  type RolloutStore,
} from '@canary-rollout/core';

/** Wall time with sub-millisecond resolution, comparable across processes on one machine. */
export const now = () => performance.timeOrigin + performance.now();
export const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
export const pct = (values: readonly number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Deterministic flush: 100 features x 2 arms, 20 histogram bins and 64 registers per bucket.
let seed = 7;
const rand = (max: number) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return Math.floor((seed / 2147483648) * max);
};
export const FLUSH: MetricBucket[] = Array.from({ length: 100 }, (_, f) =>
  ['treatment', 'control'].map((arm) => {
    const histogram: Record<string, number> = {};
    for (let i = 0; i < 20; i++) histogram[rand(256)] = 1 + rand(20);
    const users: Record<string, number> = {};
    for (let i = 0; i < 64; i++) users[rand(2048)] = 1 + rand(12);
    const calls = 100 + rand(100);
    return {
      feature: `feature${f}`,
      arm,
      bucketStart: Math.floor(Date.now() / 60_000) * 60_000,
      calls,
      successes: calls - 2,
      failures: 2,
      latencyCount: calls,
      latencySumMs: calls * 120.5,
      histogram,
      users,
    };
  }),
).flat();

/**
 * Evaluation throughput of CanaryRolloutService on `store` against a MemoryStore: the hot path
 * does no I/O, so they should match. Prints the figures under `label`.
 */
export async function evaluationAgainstMemory(label: string, store: RolloutStore): Promise<void> {
  const config = {
    canaryRollout: {
      features: Object.fromEntries(
        Array.from({ length: 100 }, (_, i) => [
          `feature${i}`,
          { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const },
        ]),
      ),
    },
  };
  const ids = Array.from({ length: 200_000 }, (_, n) => `user-${n}`);
  const make = async (s: RolloutStore) =>
    CanaryRolloutService.create({ store: s, config, flushIntervalMs: 3_600_000 });
  const services = { memory: await make(new MemoryStore()), store: await make(store) };
  const run = (service: CanaryRolloutService) => {
    const started = performance.now();
    let on = 0;
    for (let pass = 0; pass < 5; pass++) {
      for (let i = 0; i < ids.length; i++)
        on += service.isFeatureEnabledForUser(ids[i]!, `feature${i % 100}`) ? 1 : 0;
    }
    return { ns: ((performance.now() - started) * 1e6) / (ids.length * 5), on };
  };
  const samples = { memory: [] as number[], store: [] as number[] };
  const answers = new Set<number>();
  run(services.memory);
  run(services.store);
  for (let round = 0; round < 7; round++) {
    // Alternating order, so neither side always runs on a warmer JIT or a colder cache.
    for (const name of round % 2 === 0 ? (['memory', 'store'] as const) : (['store', 'memory'] as const)) {
      const result = run(services[name]);
      samples[name].push(result.ns);
      answers.add(result.on);
    }
  }
  const memory = median(samples.memory);
  const attached = median(samples.store);
  console.log('evaluation (isFeatureEnabledForUser, 100 gradual features, 1,000,000 calls, median of 7):');
  console.log(`  CanaryRolloutService on MemoryStore            ${memory.toFixed(1)} ns per call`);
  console.log(
    `  CanaryRolloutService on ${label.padEnd(22)}${attached.toFixed(1)} ns per call  (${(attached / memory).toFixed(2)}x)`,
  );
  console.log(`  same answers from both                         ${answers.size === 1 ? 'yes' : 'NO'}`);
  await services.memory.close();
  await services.store.close();
}
