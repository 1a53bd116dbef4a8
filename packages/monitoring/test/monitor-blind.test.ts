import {
  CanaryRolloutService,
  ManualClock,
  MemoryStore,
  type MetricBucket,
  StoreUnavailableError,
} from '@canary-rollout/core';
import type { MetricsReadOptions } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Alert, RolloutMonitoringService, readMonitoringStatus } from '../src/index';
import { MB, T0, usage } from './helpers';

/** A MemoryStore whose metric writes can be dropped or refused, and whose reads can be slow. */
class FaultyStore extends MemoryStore {
  mode: 'ok' | 'drop' | 'fail' = 'ok';
  /** Advances this clock on each readMetrics: a tick that takes that long. */
  slow: { clock: ManualClock; ms: number } | undefined;

  override async addMetrics(deltas: readonly MetricBucket[]): Promise<void> {
    if (this.mode === 'drop') return;
    if (this.mode === 'fail') throw new StoreUnavailableError('@canary-rollout/test: metrics refused');
    return super.addMetrics(deltas);
  }

  override async readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]> {
    if (this.slow !== undefined) this.slow.clock.advance(this.slow.ms);
    return super.readMetrics(since, features, options);
  }
}

const INTERVAL = 30_000;
const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await ('stop' in thing ? thing.stop() : thing.close());
});

async function setup() {
  const clock = new ManualClock(T0);
  const store = new FaultyStore();
  const rollout = await CanaryRolloutService.create({
    store,
    clock,
    flushIntervalMs: 3_600_000,
    config: {
      canaryRollout: {
        features: {
          aiExtraction: { enabled: true, rolloutPercentage: 50 },
          ocrFallback: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' },
        },
      },
    },
  });
  open.push(rollout);
  const monitor = new RolloutMonitoringService({
    rollout,
    intervalMs: INTERVAL,
    comparison: 'off',
    memoryUsage: () => 100 * MB,
  });
  open.push(monitor);
  const alerts: Alert[] = [];
  monitor.events.on('alert', (alert) => {
    alerts.push(alert);
  });
  monitor.events.on('error', () => undefined);
  rollout.events.on('error', () => undefined);
  const blind = () => alerts.filter((a) => a.type === 'monitor-blind');
  /** One interval of healthy traffic on both features, then a tick. */
  const tick = async (traffic = true) => {
    clock.advance(INTERVAL);
    if (traffic) {
      usage(rollout, 'aiExtraction', 200, 2);
      usage(rollout, 'ocrFallback', 100, 0);
    }
    return monitor.tick();
  };
  return { clock, store, rollout, monitor, alerts, blind, tick };
}

describe("the dead man's switch (monitor-blind)", () => {
  it('fires when traffic this process served shows no fleet calls for 3 ticks', async () => {
    const { store, monitor, blind, tick } = await setup();
    await tick();
    await tick();
    expect(blind()).toEqual([]);
    // Writes acknowledged but lost (an evicting Redis, a broken store): once the calls stored
    // before have left the 5 min window, the window stays empty although traffic goes on.
    store.mode = 'drop';
    let ticks = 0;
    let report = await tick();
    for (ticks = 1; blind().length === 0 && ticks < 30; ticks++) report = await tick();
    // 10 ticks until the window holds only dropped calls, then 3 ticks of nothing.
    expect(ticks).toBeGreaterThanOrEqual(12);
    expect(ticks).toBeLessThanOrEqual(14);
    expect(blind()).toHaveLength(1);
    const [alert] = blind();
    expect(alert).toMatchObject({
      level: 'critical',
      resolved: false,
      feature: null,
      rollbackRequired: false,
    });
    expect(alert!.findings.map((f) => f.cause)).toEqual(['traffic-vanished']);
    expect(alert!.message).toMatch(
      /2 feature\(s\) served by this process show no calls .* for 3 ticks \(aiExtraction, ocrFallback\)/,
    );
    expect(report.level).toBe('critical');
    expect(report.activeAlerts.map((a) => a.type)).toContain('monitor-blind');
    expect(monitor.getStatus().activeAlerts.map((a) => a.type)).toContain('monitor-blind');
    // What `rollout-manager status` reads: the report and the alert in the store's logs.
    const status = await readMonitoringStatus(store);
    expect(status.level).toBe('critical');
    expect(status.activeAlerts.map((a) => a.type)).toContain('monitor-blind');
    expect((await store.listLogs('alerts')).map((a) => a['type'])).toContain('monitor-blind');

    store.mode = 'ok';
    const healthy = await tick();
    expect(blind().map((a) => a.resolved)).toEqual([false, true]);
    expect(healthy.level).toBe('healthy');
  });

  it('fires when a tick takes longer than the interval', async () => {
    const { clock, store, blind, tick } = await setup();
    await tick();
    store.slow = { clock, ms: INTERVAL + 1 };
    const report = await tick();
    expect(blind()).toHaveLength(1);
    expect(blind()[0]!.findings).toEqual([
      expect.objectContaining({ cause: 'slow-tick', threshold: INTERVAL, value: expect.any(Number) }),
    ]);
    expect(blind()[0]!.findings[0]!.value).toBeGreaterThan(INTERVAL);
    expect(report.level).toBe('critical');
    store.slow = undefined;
    await tick();
    expect(blind().map((a) => a.resolved)).toEqual([false, true]);
  });

  it('fires when metrics could not be flushed for 3 intervals', async () => {
    const { store, rollout, blind, tick } = await setup();
    await tick();
    store.mode = 'fail';
    await tick();
    await tick();
    await tick();
    expect(rollout.pendingMetricBuckets()).toBeGreaterThan(0);
    expect(blind()).toEqual([]);
    await tick();
    expect(blind()).toHaveLength(1);
    expect(blind()[0]!.findings.map((f) => f.cause)).toContain('flush-failing');
    expect(blind()[0]!.message).toMatch(/metrics have not reached the store for 90 s/);
    store.mode = 'ok';
    await tick();
    expect(rollout.pendingMetricBuckets()).toBe(0);
    expect(blind().map((a) => a.resolved)).toEqual([false, true]);
  });

  it('fires when the store lost the state, and resolves once it is restored', async () => {
    const { store, rollout, blind, tick } = await setup();
    await tick();
    for (const name of ['aiExtraction', 'ocrFallback']) await store.deleteFeature(name);
    await rollout.refresh();
    expect(rollout.stateLoss()?.restoredAt).toBeDefined();
    const report = await tick();
    expect(blind()).toHaveLength(1);
    expect(blind()[0]!.findings.map((f) => f.cause)).toEqual(['state-lost']);
    expect(blind()[0]!.message).toMatch(/the store lost the state of 2 feature\(s\); restored/);
    expect(report.level).toBe('critical');
    expect(report.features['ocrFallback']?.rolloutPercentage).toBe(100);
    await tick();
    expect(blind().map((a) => a.resolved)).toEqual([false, true]);
  });

  it('raises no false alarm over a long healthy run with traffic gaps', async () => {
    const { rollout, blind, tick, clock, monitor } = await setup();
    let calls = 0;
    // 400 ticks (more than 3 hours at 30 s): traffic on and off in irregular runs, some long gaps.
    for (let i = 0; i < 400; i++) {
      const phase = Math.floor(i / 7) % 5;
      clock.advance(INTERVAL);
      if (phase !== 2 && phase !== 4 && i % 3 !== 1) {
        usage(rollout, 'aiExtraction', 150, 1);
        calls += 150;
      }
      if (i % 11 < 4) usage(rollout, 'ocrFallback', 50, 0);
      const report = await monitor.tick();
      expect(report.level, `tick ${i}`).toBe('healthy');
    }
    expect(calls).toBeGreaterThan(0);
    expect(blind()).toEqual([]);
    await tick();
    expect(blind()).toEqual([]);
  });
});
