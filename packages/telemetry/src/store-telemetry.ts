import type { RolloutStore } from '@canary-rollout/core';
import { type BatchObservableCallback, type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import { ATTRIBUTES, INSTRUMENTS } from './names';

/** Options of `instrumentStore`. */
export interface StoreTelemetryOptions {
  /** The store read on each collection. */
  readonly store: RolloutStore;
  /** How far back the window figures reach (ms). @default 300000 */
  readonly windowMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default the global meter provider */
  readonly meterProvider?: MeterProvider;
  /** Called when a collection cannot read the store (the figures of that collection are skipped). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Fleet-wide figures read from the store at each collection: rollout percentages, calls and
 * failures per feature and arm over the window, rollbacks recorded. For a process that runs no
 * rollout service (`rollout-manager metrics --port`).
 */
export class StoreTelemetry {
  private readonly meter: Meter;
  private readonly batch: BatchObservableCallback;
  private readonly observables;

  constructor(options: StoreTelemetryOptions) {
    const windowMs = options.windowMs ?? 300_000;
    const now = options.now ?? Date.now;
    this.meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('@canary-rollout/telemetry');
    const m = this.meter;
    const percentage = m.createObservableGauge(INSTRUMENTS.percentage, {
      description: 'Rollout percentage of a feature',
      unit: '%',
    });
    const calls = m.createObservableGauge(INSTRUMENTS.windowCalls, {
      description: 'Fleet-wide calls in the window, per feature and arm',
      unit: '{call}',
    });
    const failures = m.createObservableGauge(INSTRUMENTS.windowFailures, {
      description: 'Fleet-wide failed calls in the window, per feature and arm',
      unit: '{call}',
    });
    const rollbacks = m.createObservableCounter(INSTRUMENTS.rollbacks, {
      description: 'Rollbacks recorded in the store',
      unit: '{rollback}',
    });
    this.observables = [percentage, calls, failures, rollbacks];
    this.batch = async (result) => {
      try {
        const [state, buckets, records] = await Promise.all([
          options.store.readState(),
          options.store.readMetrics(now() - windowMs, undefined, { users: false }),
          options.store.listRollbacks(),
        ]);
        for (const record of state.features) {
          result.observe(percentage, record.enabled ? record.rolloutPercentage : 0, {
            [ATTRIBUTES.feature]: record.name,
            [ATTRIBUTES.strategy]: record.rolloutStrategy,
          });
        }
        const sums = new Map<string, { feature: string; arm: string; calls: number; failures: number }>();
        for (const bucket of buckets) {
          const key = `${bucket.feature}\u0000${bucket.arm}`;
          const sum = sums.get(key) ?? { feature: bucket.feature, arm: bucket.arm, calls: 0, failures: 0 };
          sum.calls += bucket.calls;
          sum.failures += bucket.failures;
          sums.set(key, sum);
        }
        for (const sum of sums.values()) {
          const attributes = { [ATTRIBUTES.feature]: sum.feature, [ATTRIBUTES.arm]: sum.arm };
          result.observe(calls, sum.calls, attributes);
          result.observe(failures, sum.failures, attributes);
        }
        const counts = new Map<string, { feature: string; kind: string; count: number }>();
        for (const record of records) {
          const key = `${record.feature}\u0000${record.source}`;
          const c = counts.get(key) ?? { feature: record.feature, kind: record.source, count: 0 };
          c.count++;
          counts.set(key, c);
        }
        for (const c of counts.values())
          result.observe(rollbacks, c.count, { [ATTRIBUTES.feature]: c.feature, [ATTRIBUTES.kind]: c.kind });
      } catch (error) {
        options.onError?.(error);
      }
    };
    m.addBatchObservableCallback(this.batch, this.observables);
  }

  /** Stops observing. */
  close(): void {
    this.meter.removeBatchObservableCallback(this.batch, this.observables);
  }
}

/** Starts store-read metrics (see `StoreTelemetry`). */
export function instrumentStore(options: StoreTelemetryOptions): StoreTelemetry {
  return new StoreTelemetry(options);
}
