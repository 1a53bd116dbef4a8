import {
  type CanaryConfigInput,
  type CanaryRolloutError,
  CanaryRolloutService,
  type FeatureUsage,
  InvalidArgumentError,
  ManualClock,
  MemoryStore,
  type MetricBucket,
} from '@canary-rollout/core';
import { createMemoryStoreData, type MetricBatch } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const MAX = Number.MAX_SAFE_INTEGER;
const config: CanaryConfigInput = {
  canaryRollout: {
    features: {
      aiExtraction: { rolloutPercentage: 25 },
      ocrFallback: { rolloutPercentage: 50 },
      poisoned: { rolloutPercentage: 50 },
    },
  },
};
const services: CanaryRolloutService[] = [];
async function make(options: ConstructorParameters<typeof CanaryRolloutService>[0] = {}) {
  const service = await CanaryRolloutService.create({ clock: new ManualClock(T0), config, ...options });
  services.push(service);
  return service;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

const calls = (buckets: readonly MetricBucket[], feature?: string) =>
  buckets.filter((b) => feature === undefined || b.feature === feature).reduce((sum, b) => sum + b.calls, 0);

describe('trackFeatureUsage refuses usage a store could not keep', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'calls above MAX_SAFE_INTEGER',
      { calls: 2 ** 53 + 2 },
      /calls must be a whole number .* got 9007199254740994/,
    ],
    ['calls of 1e300', { calls: 1e300 }, /calls must be .* got 1e\+300/],
    ['calls NaN', { calls: Number.NaN }, /calls must be .* got NaN/],
    ['calls Infinity', { calls: Number.POSITIVE_INFINITY }, /calls must be .* got Infinity/],
    ['calls as a string', { calls: '5' }, /calls must be .* got "5"/],
    ['successfulCalls as a string', { successfulCalls: '5' }, /successfulCalls must be .* got "5"/],
    ['failedCalls fractional', { calls: 2, failedCalls: 0.5 }, /failedCalls must be .* got 0.5/],
    [
      'a sum of successes and failures that overflows',
      { successfulCalls: MAX, failedCalls: MAX },
      /calls must be .* got 18014398509481982/,
    ],
    [
      'latency 1e308 (the latency sum would overflow)',
      { calls: 2, latency: 1e308 },
      /latency must be a number of ms from 0 to .* got 1e\+308/,
    ],
    ['latency as a string', { calls: 1, latency: '5' }, /latency must be .* got "5"/],
    ['latency NaN', { calls: 1, latency: Number.NaN }, /latency must be .* got NaN/],
    ['latency negative', { calls: 1, latency: -1 }, /latency must be .* got -1/],
    ['usage null', null, /usage must be an object .* got null/],
    ['usage a number', 5, /usage must be an object .* got 5/],
  ];
  for (const [name, usage, message] of cases) {
    it(`refuses ${name} with InvalidArgumentError naming field and value, recording nothing`, async () => {
      const service = await make();
      const track = () => service.trackFeatureUsage('user-1', 'aiExtraction', usage as FeatureUsage);
      expect(track).toThrow(InvalidArgumentError);
      expect(track).toThrow(message);
      await service.flush();
      expect(await service.store.readMetrics(0)).toEqual([]);
    });
  }

  it('accepts the largest values it can keep, and saturates sums instead of overflowing', async () => {
    const service = await make();
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: MAX, failedCalls: 0, latency: 1e9 });
    service.trackFeatureUsage('user-2', 'aiExtraction', { calls: MAX, failedCalls: 0, latency: 1e9 });
    await service.flush();
    // A second process adding to the same bucket saturates in the store too.
    service.trackFeatureUsage('user-3', 'aiExtraction', { calls: MAX, failedCalls: 1, latency: 1 });
    await service.flush();
    const [bucket] = await service.store.readMetrics(0);
    expect(bucket).toMatchObject({ calls: MAX, successes: MAX, failures: 1, latencyCount: MAX });
    expect(Number.isFinite(bucket!.latencySumMs)).toBe(true);
    expect(Object.values(bucket!.histogram).every((n) => Number.isSafeInteger(n))).toBe(true);
  });
});

/** A MemoryStore that refuses, as invalid, any call holding a bucket of feature `poisoned`. */
class RefusingStore extends MemoryStore {
  readonly attempts: { features: string[]; batch: MetricBatch | undefined }[] = [];
  override async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    this.attempts.push({ features: deltas.map((d) => d.feature), batch });
    if (deltas.some((d) => d.feature === 'poisoned')) {
      throw new InvalidArgumentError('@canary-rollout/test: invalid addMetrics argument: calls: too big');
    }
    return super.addMetrics(deltas, batch);
  }
}

describe('a flush the store refuses as invalid data', () => {
  it('isolates the bad bucket, drops it with an error naming feature and bucket, stores the rest', async () => {
    const store = new RefusingStore();
    const clock = new ManualClock(T0);
    const service = await make({ store, clock });
    const errors: CanaryRolloutError[] = [];
    service.events.on('error', (error) => errors.push(error));
    for (let i = 0; i < 10; i++) {
      service.trackFeatureUsage(`user-${i}`, 'aiExtraction', { calls: 1 });
      service.trackFeatureUsage(`user-${i}`, 'ocrFallback', { calls: 2 });
    }
    service.trackFeatureUsage('user-1', 'poisoned', { calls: 3 });
    await service.flush();

    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidArgumentError);
    expect(errors[0]!.message).toMatch(
      /dropped a metric bucket the store refused: feature "poisoned", arm "treatment", bucket 2026-01-05T12:00:00.000Z \(3 calls\)/,
    );
    expect(calls(await store.readMetrics(0), 'aiExtraction')).toBe(10);
    expect(calls(await store.readMetrics(0), 'ocrFallback')).toBe(20);
    expect(service.pendingMetricBuckets()).toBe(0);
    // Each part after a refusal went as a new batch: numbers only grow.
    const seqs = store.attempts.map((a) => a.batch!.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // Later flushes are not blocked by it.
    clock.advance(10_000);
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 5 });
    await service.flush();
    expect(calls(await store.readMetrics(0), 'aiExtraction')).toBe(15);
    expect(errors).toHaveLength(1);
  });
});

describe('usage is recorded under the stage it was decided in', () => {
  it('keeps the calls before and after a raise in separate buckets of one time bucket', async () => {
    const clock = new ManualClock(T0 + 3000);
    const service = await make({ clock });
    const first = service.getFeature('aiExtraction')!;
    expect(first.stageVersion).toBe(1);
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 4 });
    clock.advance(1000);
    const raised = await service.updateRolloutPercentage('aiExtraction', 50);
    expect(raised.stageVersion).toBe(raised.version);
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 6 });
    await service.flush();
    const buckets = await service.store.readMetrics(0, ['aiExtraction']);
    expect(buckets.map((b) => [b.bucketStart, b.stage, b.calls])).toEqual([
      [T0, 1, 4],
      [T0, raised.version, 6],
    ]);
  });

  it('does not start a new stage for writes that change no percentage or strategy', async () => {
    const service = await make();
    const before = service.getFeature('aiExtraction')!;
    const after = before.enabled
      ? await service.disableFeature('aiExtraction')
      : await service.enableFeature('aiExtraction');
    expect(after.version).toBe(before.version + 1);
    expect(after.stageVersion).toBe(before.stageVersion);
  });
});

describe('start() reads the fleet window', () => {
  it("shows the fleet's calls in getRolloutStatus() right after create()", async () => {
    const data = createMemoryStoreData();
    const other = await make({ store: new MemoryStore({ data }) });
    for (let i = 0; i < 4000; i++) other.trackFeatureUsage(`user-${i}`, 'aiExtraction', { calls: 1 });
    await other.flush();
    const service = await make({ store: new MemoryStore({ data }) });
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(4000);
  });
});

/** Holds every addMetrics until released, so a flush stays in flight. */
class HeldStore extends MemoryStore {
  private gate: Promise<void> | undefined;
  private unblock: (() => void) | undefined;
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.unblock = resolve;
    });
  }
  release(): void {
    this.gate = undefined;
    this.unblock?.();
  }
  override async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    await this.gate;
    return super.addMetrics(deltas, batch);
  }
}

describe('a flush requested while another runs', () => {
  async function held() {
    const store = new HeldStore();
    const service = await make({ store });
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 3 });
    store.hold();
    const first = service.flush();
    // The first pass has drained the aggregator and waits on the store.
    await new Promise((resolve) => setImmediate(resolve));
    service.trackFeatureUsage('user-2', 'aiExtraction', { calls: 4 });
    return { store, service, first };
  }

  it('covers the calls recorded after the running one began', async () => {
    const { store, service, first } = await held();
    const second = service.flush();
    store.release();
    await Promise.all([first, second]);
    expect(calls(await store.readMetrics(0), 'aiExtraction')).toBe(7);
    expect(service.unflushedCalls().size).toBe(0);
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(7);
  });

  it('lets close() store every call', async () => {
    const { store, service, first } = await held();
    const closed = service.close();
    store.release();
    await Promise.all([first, closed]);
    expect(calls(await store.readMetrics(0), 'aiExtraction')).toBe(7);
  });

  it('shares one queued pass among the callers waiting for it', async () => {
    const { store, service, first } = await held();
    const a = service.flush();
    const b = service.flush();
    expect(a).toBe(b);
    store.release();
    await Promise.all([first, a, b]);
    expect(calls(await store.readMetrics(0), 'aiExtraction')).toBe(7);
  });
});

/** Counts readMetrics calls over the whole window (the status's reads). */
class CountingStore extends MemoryStore {
  windowReads = 0;
  override async readMetrics(
    since: number,
    features?: readonly string[],
    options?: Parameters<MemoryStore['readMetrics']>[2],
  ): Promise<MetricBucket[]> {
    if (features === undefined) this.windowReads++;
    return super.readMetrics(since, features, options);
  }
}

describe('the status window is re-read only when someone reads the status', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  async function timed() {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const data = createMemoryStoreData();
    const store = new CountingStore({ data });
    const service = await make({ store, flushIntervalMs: 5000 });
    const other = await make({ store: new MemoryStore({ data }) });
    store.windowReads = 0;
    return { store, service, other };
  }

  it('sends usage on the timer without reading back, and still counts its own calls', async () => {
    const { store, service } = await timed();
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 3 });
    await vi.advanceTimersByTimeAsync(5000);
    service.trackFeatureUsage('user-2', 'aiExtraction', { calls: 4 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.windowReads).toBe(0);
    expect(calls(await store.readMetrics(0, ['aiExtraction']), 'aiExtraction')).toBe(7);
    expect(service.unflushedCalls().size).toBe(0);
    // Stored since the last read and not read back: counted once, from what was sent.
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(7);
  });

  it("re-reads on the timer once the status was asked for, showing other processes' calls", async () => {
    const { store, service, other } = await timed();
    service.trackFeatureUsage('user-1', 'aiExtraction', { calls: 3 });
    await vi.advanceTimersByTimeAsync(5000);
    other.trackFeatureUsage('user-9', 'aiExtraction', { calls: 10 });
    await other.flush({ refreshStatus: false });
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.windowReads).toBe(1);
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(13);
  });

  it('re-reads on flush() by default, and not with refreshStatus: false unless the status was read', async () => {
    const { store, service, other } = await timed();
    other.trackFeatureUsage('user-9', 'aiExtraction', { calls: 10 });
    await other.flush();
    await service.flush({ refreshStatus: false });
    expect(store.windowReads).toBe(0);
    await service.flush();
    expect(store.windowReads).toBe(1);
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(10);
    await service.flush({ refreshStatus: false });
    expect(store.windowReads).toBe(2);
  });
});

describe('MemoryStore.readMetrics', () => {
  it('hands out frozen buckets that later writes do not change', async () => {
    const store = new MemoryStore();
    const bucket = (calls: number): MetricBucket => ({
      feature: 'aiExtraction',
      arm: 'treatment',
      bucketStart: T0,
      calls,
      successes: calls,
      failures: 0,
      latencyCount: 0,
      latencySumMs: 0,
      histogram: { '60': calls },
      users: { '7': 2 },
    });
    await store.addMetrics([bucket(3)]);
    const [read] = await store.readMetrics(0);
    expect(Object.isFrozen(read)).toBe(true);
    expect(Object.isFrozen(read!.histogram)).toBe(true);
    expect(() => {
      read!.calls = 99;
    }).toThrow(TypeError);
    await store.addMetrics([bucket(4)]);
    expect(read).toMatchObject({ calls: 3, histogram: { '60': 3 } });
    const [light] = await store.readMetrics(0, undefined, { users: false });
    expect(light).toMatchObject({ calls: 7, histogram: { '60': 7 }, users: {} });
    expect((await store.readMetrics(0))[0]!.users).toEqual({ '7': 2 });
  });
});
