import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Alert, HealthReport } from '../src/index';
import { of, setup, traffic } from './helpers';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('the loop', () => {
  it('keeps ticking, alerting and rolling back when a listener throws', async () => {
    const { clock, rollout, monitor, events } = await setup(
      { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } } } },
      { intervalMs: 30_000 },
    );
    const seen: Alert[] = [];
    const reports: HealthReport[] = [];
    monitor.events.on('alert', () => {
      throw new Error('pager down');
    });
    monitor.events.on('alert', (alert) => seen.push(alert));
    monitor.events.on('health', () => {
      throw new Error('dashboard down');
    });
    monitor.events.on('rollback', () => {
      throw new Error('chat down');
    });
    let ticked: () => void = () => undefined;
    monitor.events.on('health', (report) => {
      reports.push(report);
      ticked();
    });
    const nextTick = async () => {
      const done = new Promise<void>((resolve) => {
        ticked = resolve;
      });
      clock.advance(30_000);
      await vi.advanceTimersByTimeAsync(30_000);
      await done;
    };

    await monitor.start();
    expect(monitor.getStatus().running).toBe(true);
    clock.advance(1_000);
    await traffic(rollout, 'aiExtraction', 10_000, 8);
    await nextTick();
    await nextTick();
    await nextTick();

    expect(reports).toHaveLength(3);
    expect(seen.map((a) => [a.level, a.resolved])).toEqual([
      ['critical', false],
      ['critical', true],
    ]);
    expect(of(events, 'rollback')).toHaveLength(1);
    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(0);
    expect(process.emitWarning).toHaveBeenCalledWith(
      expect.stringContaining('pager down'),
      'CanaryRolloutListenerWarning',
    );
    await monitor.stop();
    expect(monitor.getStatus().running).toBe(false);
  });
});
