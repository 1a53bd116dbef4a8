import { type CanaryConfigInput, CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import type { MemoryStoreData } from '@canary-rollout/core/store-kit';
import { afterEach } from 'vitest';
import { RolloutMonitoringService, type RolloutMonitoringServiceOptions } from '../src/index';
import type { MonitoringEvents } from '../src/types';

/** A Monday noon, on a 10 s bucket boundary. */
export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
export const MB = 2 ** 20;

const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await ('stop' in thing ? thing.stop() : thing.close());
});

/** A started rollout service over a MemoryStore (on `data` when given) and a monitor over it. */
export async function setup(
  config: CanaryConfigInput,
  options: Partial<RolloutMonitoringServiceOptions> & {
    clock?: ManualClock;
    data?: MemoryStoreData;
    store?: MemoryStore;
  } = {},
) {
  const clock = options.clock ?? new ManualClock(T0);
  const store = options.store ?? new MemoryStore(options.data === undefined ? {} : { data: options.data });
  const rollout = await CanaryRolloutService.create({ store, clock, config });
  open.push(rollout);
  const { data: _data, store: _store, ...rest } = options;
  // The threshold tests fail the feature against a fallback that never fails: the comparison with
  // the control group would (rightly) add its own findings, so it is off unless the config sets it.
  const compared = config.canaryRollout.experiments?.comparison !== undefined;
  const monitor = new RolloutMonitoringService({
    memoryUsage: () => 100 * MB,
    ...(compared ? {} : { comparison: 'off' as const }),
    ...rest,
    rollout,
  });
  open.push(monitor);
  return { clock, store, rollout, monitor, events: record(monitor) };
}

/** Every event of a monitor, in order. */
export type Recorded = {
  [E in keyof MonitoringEvents]: { event: E; payload: MonitoringEvents[E][0] };
}[keyof MonitoringEvents];

export function record(monitor: RolloutMonitoringService): Recorded[] {
  const out: Recorded[] = [];
  for (const event of ['alert', 'rollback', 'plan', 'health', 'rollout-changed', 'error'] as const) {
    monitor.events.on(event, (payload: unknown) => out.push({ event, payload } as Recorded));
  }
  return out;
}

/** Payloads of one event kind. */
export function of<E extends keyof MonitoringEvents>(events: Recorded[], event: E): MonitoringEvents[E][0][] {
  return events.filter((e) => e.event === event).map((e) => e.payload as MonitoringEvents[E][0]);
}

/**
 * Sends `users` users through `runFeature`; the feature fails on `failEvery`-th-based pattern:
 * call n fails when n % 100 < errorPercent. Returns the number of calls the feature made.
 */
export async function traffic(
  rollout: CanaryRolloutService,
  feature: string,
  users: number,
  errorPercent: number,
): Promise<number> {
  let n = 0;
  for (let i = 0; i < users; i++) {
    await rollout.runFeature(`user-${i}@example.com`, feature, {
      enabled: () => {
        if (n++ % 100 < errorPercent) throw new Error('model unavailable');
        return 'ai';
      },
      fallback: () => 'ocr',
    });
  }
  return n;
}

/** Records `calls` calls of one user with `failures` failures and an optional latency. */
export function usage(
  rollout: CanaryRolloutService,
  feature: string,
  calls: number,
  failures: number,
  latency?: number,
): void {
  rollout.trackFeatureUsage('user-1', feature, {
    calls,
    failedCalls: failures,
    successfulCalls: calls - failures,
    ...(latency === undefined ? {} : { latency }),
  });
}
