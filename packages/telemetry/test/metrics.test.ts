import { CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import { RolloutMonitoringService } from '@canary-rollout/monitoring';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTRIBUTES, INSTRUMENTS, instrumentRollout } from '../src/index';
import { createLatencyProducer } from '../src/sdk';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const config = {
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const },
      smartSort: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' as const },
    },
  },
};

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setup(extra: { evaluationCounts?: boolean } = {}) {
  const clock = new ManualClock(T0);
  const rollout = await CanaryRolloutService.create<string>({ store: new MemoryStore(), clock, config });
  const monitor = new RolloutMonitoringService({
    rollout,
    comparison: 'off',
    memoryUsage: () => 100 * 2 ** 20,
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const telemetryRef: { current?: ReturnType<typeof instrumentRollout> } = {};
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: 3_600_000,
    metricProducers: [{ collect: () => createLatencyProducer(telemetryRef.current!).collect() }],
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = instrumentRollout({ rollout, monitor, meterProvider, ...extra });
  telemetryRef.current = telemetry;
  closers.push(
    () => rollout.close(),
    () => monitor.stop(),
    () => meterProvider.shutdown(),
    () => telemetry.close(),
  );
  const collect = async (): Promise<Map<string, MetricData>> => {
    const { resourceMetrics } = await reader.collect();
    const out = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
    return out;
  };
  return { clock, rollout, monitor, telemetry, collect };
}

function point(metric: MetricData | undefined, attributes: Record<string, string>): unknown {
  const found = metric?.dataPoints.find((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
  return found?.value;
}

describe('OpenTelemetry metrics of a rollout service', () => {
  it('exports calls, failures and latency per feature and arm from what the flush aggregated', async () => {
    const { rollout, collect } = await setup();
    rollout.trackFeatureUsage('u1', 'aiExtraction', { calls: 10, failedCalls: 2, latency: 40 });
    rollout.trackFeatureUsage('u2', 'aiExtraction', { calls: 5, failedCalls: 0, latency: 3000 });
    rollout.recordUsage('u3', 'aiExtraction', 'control', { calls: 7, failedCalls: 1, latency: 20 });
    // Nothing is exported before the flush: the hot path only touched the service's aggregator.
    let metrics = await collect();
    expect(point(metrics.get(INSTRUMENTS.calls), { [ATTRIBUTES.arm]: 'treatment' })).toBeUndefined();
    await rollout.flush();
    metrics = await collect();
    const treatment = { [ATTRIBUTES.feature]: 'aiExtraction', [ATTRIBUTES.arm]: 'treatment' };
    const control = { [ATTRIBUTES.feature]: 'aiExtraction', [ATTRIBUTES.arm]: 'control' };
    expect(point(metrics.get(INSTRUMENTS.calls), treatment)).toBe(15);
    expect(point(metrics.get(INSTRUMENTS.failures), treatment)).toBe(2);
    expect(point(metrics.get(INSTRUMENTS.calls), control)).toBe(7);
    expect(point(metrics.get(INSTRUMENTS.failures), control)).toBe(1);
    const latency = metrics.get(INSTRUMENTS.latency)!;
    expect(latency.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(latency.descriptor.unit).toBe('ms');
    const histogram = point(latency, treatment) as {
      count: number;
      sum: number;
      buckets: { boundaries: number[]; counts: number[] };
    };
    expect(histogram.count).toBe(15);
    expect(histogram.sum).toBeCloseTo(10 * 40 + 5 * 3000);
    const upTo50 = histogram.buckets.boundaries.indexOf(50);
    expect(histogram.buckets.counts[upTo50]).toBe(10);
    const upTo5000 = histogram.buckets.boundaries.indexOf(5000);
    expect(histogram.buckets.counts[upTo5000]).toBe(5);
    // Counters are cumulative: a second flush adds to them.
    rollout.trackFeatureUsage('u1', 'aiExtraction', { calls: 1, failedCalls: 1 });
    await rollout.flush();
    metrics = await collect();
    expect(point(metrics.get(INSTRUMENTS.calls), treatment)).toBe(16);
    expect(point(metrics.get(INSTRUMENTS.failures), treatment)).toBe(3);
  });

  it('exports rollout percentages, health levels, active alerts, alerts and rollbacks with their kind', async () => {
    const { rollout, monitor, collect } = await setup();
    let metrics = await collect();
    expect(point(metrics.get(INSTRUMENTS.percentage), { [ATTRIBUTES.feature]: 'aiExtraction' })).toBe(25);
    expect(point(metrics.get(INSTRUMENTS.percentage), { [ATTRIBUTES.feature]: 'smartSort' })).toBe(100);
    // 50 % errors: critical, alert, automatic rollback.
    for (let i = 0; i < 200; i++)
      rollout.trackFeatureUsage(`user-${i}`, 'aiExtraction', { calls: 1, failedCalls: i % 2 });
    await monitor.tick();
    metrics = await collect();
    expect(point(metrics.get(INSTRUMENTS.percentage), { [ATTRIBUTES.feature]: 'aiExtraction' })).toBe(0);
    expect(point(metrics.get(INSTRUMENTS.healthLevel), { [ATTRIBUTES.feature]: 'aiExtraction' })).toBe(2);
    expect(
      point(metrics.get(INSTRUMENTS.activeAlerts), { [ATTRIBUTES.level]: 'critical' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      point(metrics.get(INSTRUMENTS.alerts), {
        [ATTRIBUTES.feature]: 'aiExtraction',
        [ATTRIBUTES.kind]: 'high-error-rate',
        [ATTRIBUTES.level]: 'critical',
      }),
    ).toBe(1);
    expect(
      point(metrics.get(INSTRUMENTS.rollbacks), {
        [ATTRIBUTES.feature]: 'aiExtraction',
        [ATTRIBUTES.kind]: 'automatic',
      }),
    ).toBe(1);
    await rollout.updateRolloutPercentage('smartSort', 100);
    await rollout.rollback('smartSort', 'by hand');
    metrics = await collect();
    expect(
      point(metrics.get(INSTRUMENTS.rollbacks), {
        [ATTRIBUTES.feature]: 'smartSort',
        [ATTRIBUTES.kind]: 'manual',
      }),
    ).toBe(1);
  });

  it('counts evaluations by feature and reason only when asked', async () => {
    const without = await setup();
    for (let i = 0; i < 100; i++) without.rollout.isFeatureEnabledForUser(`user-${i}`, 'aiExtraction');
    expect((await without.collect()).get(INSTRUMENTS.evaluations)?.dataPoints ?? []).toEqual([]);

    const { rollout, collect } = await setup({ evaluationCounts: true });
    let on = 0;
    for (let i = 0; i < 1000; i++) if (rollout.isFeatureEnabledForUser(`user-${i}`, 'aiExtraction')) on++;
    rollout.isFeatureEnabledForUser('user-1', 'noSuchFeature');
    const metrics = await collect();
    const evaluations = metrics.get(INSTRUMENTS.evaluations);
    expect(
      point(evaluations, { [ATTRIBUTES.feature]: 'aiExtraction', [ATTRIBUTES.reason]: 'in-rollout' }),
    ).toBe(on);
    expect(
      point(evaluations, { [ATTRIBUTES.feature]: 'aiExtraction', [ATTRIBUTES.reason]: 'outside-rollout' }),
    ).toBe(1000 - on);
    expect(
      point(evaluations, { [ATTRIBUTES.feature]: '(unknown)', [ATTRIBUTES.reason]: 'unknown-feature' }),
    ).toBe(1);
  });

  it('is a no-op without an SDK and stops observing when closed', async () => {
    const rollout = await CanaryRolloutService.create<string>({ config, clock: new ManualClock(T0) });
    closers.push(() => rollout.close());
    const telemetry = instrumentRollout({ rollout, evaluationCounts: true });
    rollout.trackFeatureUsage('u1', 'aiExtraction', { calls: 1 });
    expect(rollout.isFeatureEnabledForUser('u1', 'smartSort')).toBe(true);
    await rollout.flush();
    telemetry.close();
    expect(rollout.events.listenerCount('usage')).toBe(0);
  });
});
