import { CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import { SafeEventEmitter } from '@canary-rollout/core/monitor-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Alert, type HealthReport, RolloutMonitoringService } from '../src/index';
import { MB, T0, traffic } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an async listener that rejects', () => {
  it('is reported like a throwing one and the host process lives through real ticks', async () => {
    const warnings: string[] = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((warning) => {
      warnings.push(String(warning));
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const clock = new ManualClock(T0);
    const rollout = await CanaryRolloutService.create({
      store: new MemoryStore(),
      clock,
      config: { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } } } },
    });
    // A real interval: the ticks below come from the monitor's own timer, not from tick().
    const monitor = new RolloutMonitoringService({
      rollout,
      intervalMs: 25,
      comparison: 'off',
      memoryUsage: () => 100 * MB,
    });
    const alerts: Alert[] = [];
    const reports: HealthReport[] = [];
    monitor.events.on('alert', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new Error('pager unreachable');
    });
    monitor.events.on('alert', (alert) => {
      alerts.push(alert);
    });
    monitor.events.on('rollback', () => Promise.reject(new Error('chat unreachable')));
    monitor.events.on('health', (report) => {
      reports.push(report);
    });
    try {
      await traffic(rollout, 'aiExtraction', 10_000, 8);
      await monitor.start();
      await vi.waitFor(() => expect(reports.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
      // Let the rejected promises settle and any unhandled rejection surface.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await monitor.stop();
      await rollout.close();
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(alerts.filter((a) => a.level === 'critical' && !a.resolved)).toHaveLength(1);
    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(0);
    expect(warnings.some((w) => w.includes('"alert"') && w.includes('pager unreachable'))).toBe(true);
    expect(warnings.some((w) => w.includes('"rollback"') && w.includes('chat unreachable'))).toBe(true);
  });

  it('goes to the emitter error handler, and the other listeners still run', async () => {
    const caught: Array<[unknown, string]> = [];
    const emitter = new SafeEventEmitter<{ ping: [n: number] }>((error, event) =>
      caught.push([error, String(event)]),
    );
    const seen: number[] = [];
    emitter.on('ping', async (n) => {
      throw new Error(`async ${n}`);
    });
    emitter.on('ping', (n) => {
      seen.push(n);
    });
    // A thenable that is not a native promise is watched too.
    emitter.on(
      'ping',
      () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a custom thenable is the case under test
          then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error('thenable')),
        }) as unknown as Promise<void>,
    );
    expect(emitter.emit('ping', 7)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([7]);
    expect(caught.map(([e, event]) => [(e as Error).message, event]).sort()).toEqual([
      ['async 7', 'ping'],
      ['thenable', 'ping'],
    ]);
  });
});
