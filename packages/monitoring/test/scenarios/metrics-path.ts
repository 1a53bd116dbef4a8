/**
 * The metrics path end to end (tracking → flush → store → monitor window → rollback), run on
 * every store: each store package calls `describeMetricsPath` with a factory of handles on one
 * fresh data set (a handle per simulated process).
 */
import {
  type CanaryConfigInput,
  type CanaryRolloutError,
  CanaryRolloutService,
  InvalidArgumentError,
  ManualClock,
  type MetricBucket,
  type RolloutStore,
} from '@canary-rollout/core';
import type { MetricBatch } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutMonitoringService } from '../../src/index';
import type { Alert } from '../../src/types';

/** Handles on one fresh data set, and how to remove it. */
export interface MetricsPathPlace {
  /** A new, unopened handle on the data (one per simulated process). */
  handle(): RolloutStore;
  cleanup?(): Promise<void>;
}

/** A Monday noon, on a 10 s bucket boundary. */
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const HOUR = 3_600_000;

const config = (features: Record<string, number>): CanaryConfigInput => ({
  canaryRollout: {
    features: Object.fromEntries(
      Object.entries(features).map(([name, rolloutPercentage]) => [
        name,
        { enabled: true, rolloutPercentage },
      ]),
    ),
  },
});

/**
 * A view of `store` through which one feature's buckets arrive with a count no store can keep
 * (`2 ** 53 + 2` calls): the store's own validation refuses the whole call, as it would refuse
 * a record written by a buggy or older writer.
 */
function poisoning(store: RolloutStore, feature: string): RolloutStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'addMetrics') {
        return (deltas: readonly MetricBucket[], batch?: MetricBatch) =>
          target.addMetrics(
            deltas.map((d) => (d.feature === feature ? { ...d, calls: 2 ** 53 + 2 } : d)),
            batch,
          );
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const sum = (buckets: readonly MetricBucket[], feature: string) =>
  buckets.filter((b) => b.feature === feature && b.arm === 'treatment').reduce((n, b) => n + b.calls, 0);

/** Calls of `users` users, one each, `errorPercent` of them failed. */
function track(rollout: CanaryRolloutService, feature: string, users: number, errorPercent: number): number {
  for (let i = 0; i < users; i++) {
    const failed = i % 100 < errorPercent ? 1 : 0;
    rollout.trackFeatureUsage(`user-${i}`, feature, {
      calls: 1,
      failedCalls: failed,
      successfulCalls: 1 - failed,
    });
  }
  return users;
}

export function describeMetricsPath(name: string, makePlace: () => Promise<MetricsPathPlace>): void {
  describe(`${name}: the metrics path keeps the monitor judging`, () => {
    const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
    let place: MetricsPathPlace | undefined;
    afterEach(async () => {
      for (const thing of open.splice(0).reverse()) await ('stop' in thing ? thing.stop() : thing.close());
      await place?.cleanup?.();
      place = undefined;
    });

    async function processOn(
      features: Record<string, number>,
      clock: ManualClock,
      wrap: (store: RolloutStore) => RolloutStore = (s) => s,
    ) {
      place ??= await makePlace();
      const store = place.handle();
      open.push(store);
      const rollout = await CanaryRolloutService.create({
        store: wrap(store),
        clock,
        config: config(features),
      });
      open.push(rollout);
      const errors: CanaryRolloutError[] = [];
      rollout.events.on('error', (error) => errors.push(error));
      return { store, rollout, errors };
    }

    function monitorOf(rollout: CanaryRolloutService, clock?: ManualClock) {
      const monitor = new RolloutMonitoringService({
        rollout,
        comparison: 'off',
        memoryUsage: () => 100 * 2 ** 20,
        ...(clock === undefined ? {} : { clock }),
      });
      open.push(monitor);
      const alerts: Alert[] = [];
      monitor.events.on('alert', (alert) => alerts.push(alert));
      return { monitor, alerts };
    }

    it('one poisoned record blocks nothing: two features failing at 50 % are rolled back within 3 ticks, every later call stored', async () => {
      const clock = new ManualClock(T0);
      const { store, rollout, errors } = await processOn({ alpha: 50, beta: 50, poisoned: 50 }, clock, (s) =>
        poisoning(s, 'poisoned'),
      );
      const { monitor } = monitorOf(rollout);
      // Values no store can keep are refused where they come in.
      expect(() => rollout.trackFeatureUsage('u', 'alpha', { calls: 2 ** 53 + 2 })).toThrow(
        InvalidArgumentError,
      );
      expect(() => rollout.trackFeatureUsage('u', 'alpha', { calls: 2, latency: 1e308 })).toThrow(
        InvalidArgumentError,
      );
      // And a bucket the store refuses all the same is dropped on its own.
      rollout.trackFeatureUsage('u', 'poisoned', { calls: 1 });
      let tracked = 0;
      let ticks = 0;
      while (
        ticks < 3 &&
        [rollout.getFeature('alpha')!, rollout.getFeature('beta')!].some((f) => f.rolloutPercentage > 0)
      ) {
        clock.advance(10_000);
        tracked += track(rollout, 'alpha', 200, 50);
        track(rollout, 'beta', 200, 50);
        await monitor.tick();
        ticks++;
      }
      expect(rollout.getFeature('alpha')!.rolloutPercentage).toBe(0);
      expect(rollout.getFeature('beta')!.rolloutPercentage).toBe(0);
      expect((await store.listRollbacks()).map((r) => r.feature).sort()).toEqual(['alpha', 'beta']);
      const dropped = errors.filter((e) => /dropped a metric bucket the store refused/.test(e.message));
      expect(dropped).toHaveLength(1);
      expect(dropped[0]!.message).toMatch(
        /feature "poisoned", arm "treatment", bucket 2026-01-05T12:00:00\.000Z/,
      );

      // Later calls still reach the store, every one of them.
      for (let i = 0; i < 3; i++) {
        clock.advance(10_000);
        tracked += track(rollout, 'alpha', 100, 0);
        track(rollout, 'beta', 100, 0);
        await rollout.flush();
      }
      const stored = await store.readMetrics(0);
      expect(sum(stored, 'alpha')).toBe(tracked);
      expect(sum(stored, 'beta')).toBe(tracked);
      expect(sum(stored, 'poisoned')).toBe(0);
      expect(rollout.pendingMetricBuckets()).toBe(0);
    });

    it('judges the bucket in which a stage began: create, 5,000 calls at 8 % errors, tick → rolled back', async () => {
      // Mid-bucket: the stage begins 3 s into the time bucket its first calls go to.
      const clock = new ManualClock(T0 + 3_000);
      const { rollout } = await processOn({ search: 25 }, clock);
      const { monitor } = monitorOf(rollout);
      track(rollout, 'search', 5_000, 8);
      const report = await monitor.tick();
      expect(report.rolledBack).toEqual(['search']);
      expect(rollout.getFeature('search')!.rolloutPercentage).toBe(0);
    });

    it('judges a stage raised by a process whose clock is 1 h ahead, and warns about the skew', async () => {
      const clock = new ManualClock(T0);
      const app = await processOn({ search: 10 }, clock);
      const admin = await processOn({ search: 10 }, new ManualClock(T0 + HOUR));
      const { monitor, alerts } = monitorOf(app.rollout);
      await admin.rollout.updateRolloutPercentage('search', 50);
      await app.rollout.refresh();
      expect(app.rollout.getFeature('search')).toMatchObject({
        rolloutPercentage: 50,
        stageStartedAt: T0 + HOUR,
      });

      clock.advance(10_000);
      track(app.rollout, 'search', 1_500, 50);
      const report = await monitor.tick();
      expect(report.rolledBack).toEqual(['search']);
      const skew = alerts.find((a) => a.findings.some((f) => f.type === 'clock-skew'));
      expect(skew).toMatchObject({ level: 'warning' });
      expect(skew!.findings.find((f) => f.type === 'clock-skew')!.value).toBeGreaterThan(HOUR - 60_000);
    });

    it('judges the current stage when the monitor clock jumps back an hour', async () => {
      const clock = new ManualClock(T0);
      const { rollout } = await processOn({ search: 25 }, clock);
      const monitorClock = new ManualClock(T0);
      const { monitor } = monitorOf(rollout, monitorClock);
      clock.advance(10_000);
      track(rollout, 'search', 1_000, 10);
      await rollout.flush();
      monitorClock.set(T0 - HOUR);
      const report = await monitor.tick();
      expect(report.rolledBack).toEqual(['search']);
    });

    it('does not judge a stage on the calls of the stage before, even in the same time bucket', async () => {
      const clock = new ManualClock(T0 + 1_000);
      const { rollout } = await processOn({ search: 25 }, clock);
      const { monitor } = monitorOf(rollout);
      track(rollout, 'search', 1_000, 20);
      clock.advance(1_000);
      await rollout.updateRolloutPercentage('search', 30, { force: true });
      track(rollout, 'search', 1_000, 0);
      const report = await monitor.tick();
      expect(report.rolledBack).toEqual([]);
      expect(report.features['search']).toMatchObject({ calls: 1_000, errorRate: 0 });
    });

    it("shows the fleet's calls in getRolloutStatus() right after create()", async () => {
      const clock = new ManualClock(T0);
      const fleet = await processOn({ search: 25 }, clock);
      track(fleet.rollout, 'search', 4_000, 0);
      await fleet.rollout.flush();
      const late = await processOn({ search: 25 }, clock);
      expect(late.rollout.getRolloutStatus().features['search']!.metrics.calls).toBe(4_000);
    });
  });
}
