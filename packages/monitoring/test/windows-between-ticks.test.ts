import { type FeatureRecord, MemoryStore, type MetricBucket } from '@canary-rollout/core';
import { TREATMENT_ARM } from '@canary-rollout/core/experiments';
import { summarize } from '@canary-rollout/core/monitor-kit';
import { emptyMetricBucket, mergeMetricBucket } from '@canary-rollout/core/store-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CumulativeArms } from '../src/internal/cumulative';
import { WindowTotals } from '../src/internal/window-totals';
import { T0 } from './helpers';

const WINDOW = 60_000;
const BUCKET = 10_000;
const FEATURES = ['a', 'b'];

/** The windows as a fresh merge of every bucket read gives them: what the kept totals must equal. */
function freshWindows(buckets: readonly MetricBucket[], record: FeatureRecord, now: number) {
  const current = emptyMetricBucket(record.name, TREATMENT_ARM, 0);
  const previous = emptyMetricBucket(record.name, TREATMENT_ARM, 0);
  const from = Math.max(now - WINDOW, record.stageStartedAt);
  for (const b of buckets) {
    if (b.feature !== record.name || b.arm !== TREATMENT_ARM) continue;
    const inCurrent =
      b.stage === undefined || record.stageVersion === undefined
        ? b.bucketStart >= from && b.bucketStart <= now
        : b.stage === record.stageVersion && b.bucketStart >= now - WINDOW;
    if (inCurrent) mergeMetricBucket(current, b, { users: false });
    else if (b.bucketStart >= now - 2 * WINDOW && b.bucketStart < now - WINDOW)
      mergeMetricBucket(previous, b, { users: false });
  }
  return { current: summarize(current), previous: summarize(previous) };
}

/** Every arm of the stage merged from the whole store: what the kept arm totals must equal. */
function freshArms(buckets: readonly MetricBucket[], record: FeatureRecord) {
  const arms = new Map<string, MetricBucket>();
  for (const b of buckets) {
    if (b.feature !== record.name) continue;
    const inStage =
      b.stage === undefined || record.stageVersion === undefined
        ? b.bucketStart >= record.stageStartedAt
        : b.stage === record.stageVersion;
    if (!inStage) continue;
    let total = arms.get(b.arm);
    if (total === undefined) {
      total = emptyMetricBucket(record.name, b.arm, 0);
      arms.set(b.arm, total);
    }
    mergeMetricBucket(total, b);
  }
  return arms;
}

function record(name: string, stage: number, stageStartedAt: number): FeatureRecord {
  return {
    name,
    enabled: true,
    rolloutPercentage: 25,
    rolloutStrategy: 'gradual',
    version: stage,
    stageVersion: stage,
    stageStartedAt,
    createdAt: T0,
    updatedAt: stageStartedAt,
    salt: name,
  } as FeatureRecord;
}

/** One step of the fleet between ticks. */
type Step =
  | {
      kind: 'usage';
      feature: number;
      arm: 'treatment' | 'control';
      calls: number;
      failures: number;
      latency: number;
    }
  | { kind: 'advance'; ms: number }
  | { kind: 'stage'; feature: number }
  | { kind: 'wipe' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('usage' as const),
    feature: fc.integer({ min: 0, max: FEATURES.length - 1 }),
    arm: fc.constantFrom('treatment' as const, 'control' as const),
    calls: fc.integer({ min: 1, max: 50 }),
    failures: fc.integer({ min: 0, max: 50 }),
    latency: fc.integer({ min: 1, max: 5000 }),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40_000 }) }),
  fc.record({
    kind: fc.constant('stage' as const),
    feature: fc.integer({ min: 0, max: FEATURES.length - 1 }),
  }),
  fc.constant({ kind: 'wipe' as const }),
);

describe('windows and arm totals kept between ticks', () => {
  it('equal a fresh merge of what the store holds, through new and grown buckets, stage changes, expiry and a wiped store', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        let store = new MemoryStore();
        let now = T0;
        let lastTick = T0;
        // Buckets a wiped store lost after the arms had settled them: the monitor keeps what it
        // counted once a bucket is older than the settle horizon, and never reads it again.
        const remembered: MetricBucket[] = [];
        const records = FEATURES.map((name) => record(name, 1, T0));
        const windows = new WindowTotals();
        const arms = new CumulativeArms(2 * WINDOW);
        for (const s of steps) {
          if (s.kind === 'advance') now += s.ms;
          else if (s.kind === 'wipe') {
            for (const b of await store.readMetrics(0))
              if (b.bucketStart < lastTick - 2 * WINDOW) remembered.push(b);
            store = new MemoryStore();
          } else if (s.kind === 'stage') {
            const r = records[s.feature]!;
            records[s.feature] = record(r.name, r.version + 1, now);
          } else {
            const r = records[s.feature]!;
            const bucket = emptyMetricBucket(r.name, s.arm, now - (now % BUCKET), r.stageVersion);
            const failures = Math.min(s.failures, s.calls);
            Object.assign(bucket, {
              calls: s.calls,
              successes: s.calls - failures,
              failures,
              latencyCount: s.calls,
              latencySumMs: s.calls * s.latency,
              histogram: { [String(40 + (s.latency % 30))]: s.calls },
              users: { [String(s.latency % 64)]: 1 + (s.calls % 5) },
            });
            await store.addMetrics([bucket]);
          }
          // A tick: the windows' read, then the arms'.
          const read = await store.readMetrics(now - 2 * WINDOW, undefined, { users: false });
          windows.update(read, records, now, WINDOW);
          const kept = await arms.readMany(store, records, now);
          const all = [...(await store.readMetrics(0)), ...remembered];
          lastTick = now;
          for (const r of records) {
            const fresh = freshWindows(read, r, now);
            const w = windows.windows(r.name)!;
            expect(w.current).toEqual(fresh.current);
            expect(w.previous).toEqual(fresh.previous);
            const expected = freshArms(all, r);
            const got = kept.get(r.name)!;
            expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
            for (const [arm, total] of expected) {
              const mine = got.get(arm)!;
              expect(mine.calls).toBe(total.calls);
              expect(mine.failures).toBe(total.failures);
              expect(mine.latencyCount).toBe(total.latencyCount);
              expect(mine.latencySumMs).toBeCloseTo(total.latencySumMs, 6);
              expect(withoutZeros(mine.histogram)).toEqual(withoutZeros(total.histogram));
              expect(mine.users).toEqual(total.users);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

function withoutZeros(bins: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(bins).filter(([, n]) => n !== 0));
}

describe('arm totals when the store loses data', () => {
  it('keep what had settled and count the recent buckets again from what the store still holds', async () => {
    const settleMs = 2 * WINDOW;
    const arms = new CumulativeArms(settleMs);
    const r = record('a', 1, T0);
    const usage = (start: number, calls: number) =>
      Object.assign(emptyMetricBucket('a', TREATMENT_ARM, start, 1), {
        calls,
        successes: calls,
        latencyCount: calls,
        latencySumMs: calls,
      });
    let store = new MemoryStore();
    await store.addMetrics([usage(T0, 7)]);
    expect((await arms.read(store, r, T0))!.get(TREATMENT_ARM)!.calls).toBe(7);
    // The first bucket is past the settle horizon at this tick; the second is recent.
    const later = T0 + settleMs + BUCKET;
    await store.addMetrics([usage(later, 5)]);
    expect((await arms.read(store, r, later))!.get(TREATMENT_ARM)!.calls).toBe(12);
    // The store loses everything, then a recent bucket arrives again.
    store = new MemoryStore();
    await store.addMetrics([usage(later, 2)]);
    expect((await arms.read(store, r, later + 1))!.get(TREATMENT_ARM)!.calls).toBe(9);
    // The settled part is not counted twice once the recent bucket settles too.
    const much = later + 2 * settleMs;
    expect((await arms.read(store, r, much))!.get(TREATMENT_ARM)!.calls).toBe(9);
    expect((await arms.read(store, r, much + 1))!.get(TREATMENT_ARM)!.calls).toBe(9);
  });
});
