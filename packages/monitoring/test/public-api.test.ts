import {
  type CanaryRolloutError,
  CanaryRolloutService,
  type RollbackRecord,
  type RolloutChange,
} from '@canary-rollout/core';
import type { Finding } from '@canary-rollout/core/monitor-kit';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type Alert,
  type FeatureComparison,
  type HealthReport,
  type MonitoringEvents,
  type MonitoringStatus,
  type PlanEvent,
  type RollbackEvent,
  RolloutMonitoringService,
  readMonitoringStatus,
} from '../src/index';

describe('public API types', () => {
  it('types every event payload and the status', async () => {
    const monitor = new RolloutMonitoringService({ rollout: new CanaryRolloutService() });
    expectTypeOf(monitor.tick).returns.toEqualTypeOf<Promise<HealthReport>>();
    expectTypeOf(monitor.getStatus).returns.toEqualTypeOf<MonitoringStatus>();
    expectTypeOf(readMonitoringStatus).returns.toEqualTypeOf<Promise<MonitoringStatus>>();
    monitor.events.on('alert', (alert) => expectTypeOf(alert).toEqualTypeOf<Alert>());
    monitor.events.on('rollback', (event) => expectTypeOf(event).toEqualTypeOf<RollbackEvent>());
    monitor.events.on('health', (report) => expectTypeOf(report).toEqualTypeOf<HealthReport>());
    monitor.events.on('rollout-changed', (change) => expectTypeOf(change).toEqualTypeOf<RolloutChange>());
    monitor.events.on('error', (error) => expectTypeOf(error).toEqualTypeOf<CanaryRolloutError>());
    monitor.events.on('plan', (event) => expectTypeOf(event).toEqualTypeOf<PlanEvent>());
    expectTypeOf<keyof MonitoringEvents>().toEqualTypeOf<
      'alert' | 'rollback' | 'plan' | 'health' | 'rollout-changed' | 'error'
    >();
    expectTypeOf<HealthReport['features'][string]['comparison']>().toEqualTypeOf<
      FeatureComparison | undefined
    >();
    expectTypeOf<RollbackEvent['cause']>().toEqualTypeOf<
      'feature' | 'global-error-rate' | 'treatment-worse'
    >();
    expectTypeOf<Alert['findings']>().toEqualTypeOf<readonly Finding[]>();
    expectTypeOf<RollbackEvent['record']>().toEqualTypeOf<RollbackRecord>();
    await monitor.stop();
  });
});
