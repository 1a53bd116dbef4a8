import {
  type CanaryConfigInput,
  type CanaryRolloutError,
  CanaryRolloutService,
  InvalidArgumentError,
  ManualClock,
  MemoryStore,
  NotFoundError,
  type RolloutChange,
  RolloutGuardError,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { createMemoryStoreData } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flakyStore } from './fixtures/flaky-store';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const DAY = 86_400_000;
const config: CanaryConfigInput = {
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' },
      ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
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

describe('trackFeatureUsage and getRolloutStatus', () => {
  it("reports the guide's metrics for a feature", async () => {
    const service = await make();
    service.trackFeatureUsage('user-1', 'aiExtraction', {
      calls: 10,
      successfulCalls: 8,
      failedCalls: 2,
      latency: 1500,
    });
    service.trackFeatureUsage('user-2', 'aiExtraction', {
      calls: 10,
      successfulCalls: 10,
      failedCalls: 0,
      latency: 500,
    });
    const check = () => {
      const metrics = service.getRolloutStatus().features.aiExtraction!.metrics;
      expect(metrics).toMatchObject({
        calls: 20,
        successfulCalls: 18,
        failedCalls: 2,
        errorRate: 0.1,
        successRate: 0.9,
        activeUsers: 2,
      });
      expect(metrics.averageLatency).toBe(1000);
      expect(metrics.p95Latency! / 1500).toBeGreaterThan(0.95);
      expect(metrics.p95Latency! / 1500).toBeLessThan(1.05);
      expect(metrics.p50Latency! / 500).toBeGreaterThan(0.95);
      expect(metrics.p50Latency! / 500).toBeLessThan(1.05);
    };
    check();
    await service.flush();
    check(); // the same figures from the store, not counted twice
    expect(service.getRolloutStatus().features.ocrFallback!.metrics).toMatchObject({
      calls: 0,
      errorRate: null,
      successRate: null,
    });
  });

  it('fills in omitted counts and rejects counts that do not add up, naming the fields', async () => {
    const service = await make();
    service.trackFeatureUsage('u', 'aiExtraction', { calls: 4, failedCalls: 1 });
    service.trackFeatureUsage('u', 'aiExtraction', { successfulCalls: 2, failedCalls: 2 });
    expect(service.getRolloutStatus().features.aiExtraction!.metrics).toMatchObject({
      calls: 8,
      successfulCalls: 5,
      failedCalls: 3,
    });
    for (const bad of [
      { calls: -1 },
      { calls: 1.5 },
      { calls: 2, successfulCalls: 2, failedCalls: 1 },
      { calls: 1, latency: -5 },
    ]) {
      expect(() => service.trackFeatureUsage('u', 'aiExtraction', bad)).toThrow(InvalidArgumentError);
    }
    expect(() => service.trackFeatureUsage('u', 'aiExtraction', { calls: 1, latency: Number.NaN })).toThrow(
      /latency/,
    );
  });

  it('ignores usage of unknown features, so memory follows the feature set', async () => {
    const service = await make();
    service.trackFeatureUsage('u', 'noSuchFeature', { calls: 1 });
    await service.flush();
    expect(await service.store.readMetrics(0)).toEqual([]);
  });

  it('sums usage flushed by several processes into the fleet-wide status', async () => {
    const data = createMemoryStoreData();
    const a = await make({ store: new MemoryStore({ data }) });
    const b = await make({ store: new MemoryStore({ data }) });
    a.trackFeatureUsage('user-a', 'aiExtraction', { calls: 100, failedCalls: 3, latency: 100 });
    b.trackFeatureUsage('user-b', 'aiExtraction', { calls: 50, failedCalls: 7, latency: 100 });
    await a.flush();
    await b.flush();
    await a.flush();
    expect(a.getRolloutStatus().features.aiExtraction!.metrics).toMatchObject({
      calls: 150,
      failedCalls: 10,
      activeUsers: 2,
    });
  });

  it('keeps only the window: usage older than windowMs leaves the status', async () => {
    const clock = new ManualClock(T0);
    const service = await make({ clock });
    service.trackFeatureUsage('u', 'aiExtraction', { calls: 5 });
    await service.flush();
    clock.advance(301_000 + 10_000);
    await service.flush();
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(0);
  });
});

describe('runFeature', () => {
  it('runs the feature when on, the fallback when off or failing, and records outcomes', async () => {
    const service = await make();
    await service.updateRolloutPercentage('aiExtraction', 100);
    expect(
      await service.runFeature('u1', 'aiExtraction', { enabled: () => 'ai', fallback: () => 'ocr' }),
    ).toBe('ai');
    expect(
      await service.runFeature('u1', 'aiExtraction', {
        enabled: async () => {
          throw new Error('model down');
        },
        fallback: () => 'ocr',
      }),
    ).toBe('ocr');
    expect(
      await service.runFeature('u1', 'ocrFallback', { enabled: () => 'ai', fallback: () => 'ocr' }),
    ).toBe('ocr');
    await expect(
      service.runFeature('u1', 'ocrFallback', {
        enabled: () => 'ai',
        fallback: () => {
          throw new Error('ocr down');
        },
      }),
    ).rejects.toThrow('ocr down');
    expect(service.getRolloutStatus().features.aiExtraction!.metrics).toMatchObject({
      calls: 2,
      successfulCalls: 1,
      failedCalls: 1,
    });
    expect(service.getRolloutStatus().features.ocrFallback!.metrics.calls).toBe(0);
  });
});

describe('changing rollouts', () => {
  it('adds and removes beta users, checking feature and user', async () => {
    const service = await make();
    expect(service.isFeatureEnabledForUser('jane', 'ocrFallback')).toBe(false);
    expect(await service.addBetaUser('jane', 'ocrFallback')).toBe(true);
    expect(service.isFeatureEnabledForUser('jane', 'ocrFallback')).toBe(true);
    expect(await service.addBetaUser('jane', 'ocrFallback')).toBe(false);
    expect(service.getBetaUsers('ocrFallback')).toEqual(['jane']);
    expect(await service.removeBetaUser('jane', 'ocrFallback')).toBe(true);
    expect(service.isFeatureEnabledForUser('jane', 'ocrFallback')).toBe(false);
    await expect(service.addBetaUser('jane', 'noSuchFeature')).rejects.toThrow(NotFoundError);
    await expect(service.addBetaUser('', 'ocrFallback')).rejects.toThrow(/userId must be a non-empty string/);
    await expect(service.addBetaUser('jane', '__proto__')).rejects.toThrow(InvalidArgumentError);
  });

  it('validates percentages and strategies, naming the value', async () => {
    const service = await make();
    for (const bad of [150, -1, 0.001, Number.NaN]) {
      await expect(service.updateRolloutPercentage('aiExtraction', bad)).rejects.toThrow(
        /percentage must be 0\.\.100/,
      );
    }
    await expect(service.setRolloutStrategy('aiExtraction', 'everyone' as 'stable')).rejects.toThrow(
      /got "everyone"/,
    );
    await expect(service.updateRolloutPercentage('noSuchFeature', 5)).rejects.toThrow(
      /unknown feature "noSuchFeature"/,
    );
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
  });

  it('rolls back as the guide says and records it once', async () => {
    const service = await make();
    await service.setRolloutStrategy('aiExtraction', 'stable');
    await service.addBetaUser('jane', 'aiExtraction');
    const events: string[] = [];
    service.events.on('rollback', (record) => events.push(`${record.feature}:${record.reason}`));
    const record = await service.rollback('aiExtraction', 'error rate 8 %');
    expect(record).toMatchObject({ feature: 'aiExtraction', reason: 'error rate 8 %', source: 'manual' });
    expect(record!.previous).toEqual({ rolloutPercentage: 25, rolloutStrategy: 'stable', betaUsers: 1 });
    const feature = service.getFeature('aiExtraction')!;
    expect(feature).toMatchObject({ rolloutPercentage: 0, rolloutStrategy: 'gradual', lastRollbackAt: T0 });
    expect(service.getBetaUsers('aiExtraction')).toEqual([]);
    expect(service.isFeatureEnabledForUser('jane', 'aiExtraction')).toBe(false);
    expect(await service.rollback('aiExtraction')).toBeUndefined();
    expect(events).toEqual(['aiExtraction:error rate 8 %']);
    expect(await service.store.listRollbacks('aiExtraction')).toHaveLength(1);
    expect(service.getRolloutStatus().features.aiExtraction!.lastRollbackAt).toBe(T0);
  });

  it('turns features on and off and blacklists users', async () => {
    const service = await make();
    await service.setRolloutStrategy('aiExtraction', 'stable');
    await service.disableFeature('aiExtraction');
    expect(service.isFeatureEnabledForUser('u', 'aiExtraction')).toBe(false);
    await service.enableFeature('aiExtraction');
    expect(service.isFeatureEnabledForUser('u', 'aiExtraction')).toBe(true);
    await service.blacklistUser('u');
    expect(service.isFeatureEnabledForUser('u', 'aiExtraction')).toBe(false);
    expect(service.getRolloutStatus().blacklistedUsers).toBe(1);
    await service.unblacklistUser('u');
    expect(service.isFeatureEnabledForUser('u', 'aiExtraction')).toBe(true);
  });

  it('guards raises with maxStep and minStableTime when configured, unless forced', async () => {
    const clock = new ManualClock(T0);
    const service = await make({
      clock,
      config: {
        canaryRollout: {
          features: {
            aiExtraction: { enabled: true, rolloutPercentage: 0, minStableTime: 7 * DAY, maxStep: 25 },
          },
        },
      },
    });
    await service.updateRolloutPercentage('aiExtraction', 5); // a raise from 0 is always allowed
    await expect(service.updateRolloutPercentage('aiExtraction', 10)).rejects.toThrow(RolloutGuardError);
    const refused = await service
      .updateRolloutPercentage('aiExtraction', 10)
      .catch((e: RolloutGuardError) => e);
    expect((refused as RolloutGuardError).allowedAt).toBe(T0 + 7 * DAY);
    expect((refused as RolloutGuardError).message).toContain(new Date(T0 + 7 * DAY).toISOString());
    expect(service.getRolloutStatus().features.aiExtraction!.nextRaiseAllowedAt).toBe(T0 + 7 * DAY);
    await service.updateRolloutPercentage('aiExtraction', 1); // lowering is always allowed
    clock.advance(7 * DAY);
    await expect(service.updateRolloutPercentage('aiExtraction', 50)).rejects.toThrow(/exceeds maxStep 25/);
    await expect(service.setRolloutStrategy('aiExtraction', 'stable')).rejects.toThrow(/exceeds maxStep 25/);
    await service.updateRolloutPercentage('aiExtraction', 26);
    await service.updateRolloutPercentage('aiExtraction', 100, { force: true });
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(100);
  });

  it('applies the guide CLI examples without guards when none are configured', async () => {
    const service = await make();
    await service.updateRolloutPercentage('aiExtraction', 50);
    await service.updateRolloutPercentage('aiExtraction', 100);
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(100);
  });
});

describe('the store holds the live state', () => {
  it('keeps a runtime change over a restart that reads the file again', async () => {
    const store = new MemoryStore();
    const first = await make({ store });
    await first.updateRolloutPercentage('aiExtraction', 50);
    await first.rollback('aiExtraction');
    await first.close();
    const second = await make({ store });
    expect(second.getFeature('aiExtraction')!.rolloutPercentage).toBe(0);
    expect(second.getFeature('aiExtraction')!.lastRollbackAt).toBe(T0);
  });

  it('sees changes made by another process and reports them', async () => {
    const data = createMemoryStoreData();
    const app = await make({ store: new MemoryStore({ data }) });
    const cli = await make({ store: new MemoryStore({ data }) });
    const changes: RolloutChange[] = [];
    app.events.on('rollout-changed', (change) => changes.push(change));
    await cli.updateRolloutPercentage('aiExtraction', 60);
    await vi.waitFor(() => expect(app.getFeature('aiExtraction')!.rolloutPercentage).toBe(60));
    expect(changes).toEqual([
      {
        feature: 'aiExtraction',
        previous: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' },
        current: { enabled: true, rolloutPercentage: 60, rolloutStrategy: 'gradual' },
        source: 'store',
      },
    ]);
    await cli.addBetaUser('jane', 'ocrFallback');
    await vi.waitFor(() => expect(app.isFeatureEnabledForUser('jane', 'ocrFallback')).toBe(true));
  });

  it('loses no update when two processes change one feature at once (compare-and-set)', async () => {
    const data = createMemoryStoreData();
    const a = await make({ store: new MemoryStore({ data }) });
    const b = await make({ store: new MemoryStore({ data }) });
    await Promise.all([
      a.setRolloutStrategy('aiExtraction', 'beta-only'),
      b.updateRolloutPercentage('aiExtraction', 40),
    ]);
    await a.refresh();
    expect(a.getFeature('aiExtraction')).toMatchObject({
      rolloutStrategy: 'beta-only',
      rolloutPercentage: 40,
    });
  });
});

describe('a store that fails', () => {
  it('never breaks evaluation; metrics wait (bounded) and arrive when the store is back', async () => {
    const { store, inner, setDown } = flakyStore();
    const clock = new ManualClock(T0);
    const errors: CanaryRolloutError[] = [];
    const svc = await make({ store, clock, maxPendingBuckets: 2, metricsBucketMs: 1000 });
    svc.events.on('error', (error) => errors.push(error));
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const answers = () => users.map((u) => svc.isFeatureEnabledForUser(u, 'aiExtraction'));
    const before = answers();
    setDown(true);
    expect(svc.isFeatureEnabledForUser('u', 'ocrFallback')).toBe(false);
    svc.trackFeatureUsage('u', 'aiExtraction', { calls: 1 });
    await svc.flush();
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
    expect(svc.pendingMetricBuckets()).toBe(1);
    clock.advance(1000);
    svc.trackFeatureUsage('u', 'aiExtraction', { calls: 2 });
    clock.advance(1000);
    svc.trackFeatureUsage('u', 'aiExtraction', { calls: 4 });
    await svc.flush();
    expect(svc.pendingMetricBuckets()).toBe(2);
    expect(errors.some((e) => /dropped 1 metric buckets \(1 calls\)/.test(e.message))).toBe(true);
    await svc.refresh();
    expect(answers()).toEqual(before);
    expect(before.filter(Boolean).length).toBeGreaterThan(20);
    setDown(false);
    await svc.flush();
    expect(svc.pendingMetricBuckets()).toBe(0);
    const stored = await inner.readMetrics(0);
    expect(stored.reduce((sum, b) => sum + b.calls, 0)).toBe(6);
  });

  it('fails start clearly without a snapshot, or serves the given one', async () => {
    const { store, setDown } = flakyStore();
    setDown(true);
    await expect(CanaryRolloutService.create({ store, config })).rejects.toThrow(StoreUnavailableError);
    const errors: unknown[] = [];
    const service = new CanaryRolloutService({
      store,
      config,
      initialState: {
        version: 1,
        features: [
          {
            name: 'aiExtraction',
            enabled: true,
            rolloutPercentage: 100,
            rolloutStrategy: 'gradual',
            salt: 'aiExtraction',
            version: 1,
            updatedAt: T0,
            stageStartedAt: T0,
          },
        ],
        beta: {},
        blacklist: [],
      },
    });
    services.push(service);
    service.events.on('error', (e) => errors.push(e));
    await service.start();
    expect(errors).toHaveLength(1);
    expect(service.isFeatureEnabledForUser('anyone', 'aiExtraction')).toBe(true);
    setDown(false);
    await service.refresh();
    expect(service.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
  });
});
