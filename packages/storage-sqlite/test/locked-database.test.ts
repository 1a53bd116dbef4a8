import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type CanaryRolloutError, CanaryRolloutService } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { startChild } from './helpers/child';
import { useTempDir } from './helpers/temp';

/** How long the other process holds the write lock (ms). */
const HOLD_MS = 6000;
/** How long the workload runs unlocked first, as the baseline (ms). */
const BASELINE_MS = 2000;

/** Runs `work` every 10 ms for `ms` and returns the longest event-loop stall meanwhile (ms). */
async function measureLag(ms: number, work: () => void): Promise<number> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const timer = setInterval(work, 10);
  await new Promise((resolve) => setTimeout(resolve, ms));
  clearInterval(timer);
  lag.disable();
  return lag.max / 1e6;
}

describe('a database locked by another process', () => {
  const temp = useTempDir('locked');

  it(`keeps the event loop serving while another process holds the write lock for ${HOLD_MS / 1000} s, and loses no tracked call`, async () => {
    const path = temp.file('locked.db');
    const store = new SqliteStore({ path });
    const service = new CanaryRolloutService({
      store,
      config: { canaryRollout: { features: { search: { rolloutPercentage: 50 } } } },
      flushIntervalMs: 200,
    });
    let tracked = 0;
    const track = (n: number) => {
      for (let i = 0; i < n; i++) {
        service.trackFeatureUsage(`user-${tracked % 97}`, 'search', {
          calls: 1,
          successfulCalls: 1,
          latency: 12,
        });
        tracked += 1;
      }
    };
    const errors: CanaryRolloutError[] = [];
    service.events.on('error', (error) => errors.push(error));
    await service.start();

    // The same workload without the lock, in the same run: what this machine adds by itself.
    const baseline = await measureLag(BASELINE_MS, () => track(5));
    // And the same window measured by another process that touches no database: a stall the
    // machine's load causes (other processes on the cores) shows there too.
    const meter = startChild<{ maxLagMs: number }>('lag-meter', [String(HOLD_MS)]);
    await meter.ready;
    const holder = startChild<{ heldMs: number }>('lock-holder', [path, String(HOLD_MS)]);
    await holder.ready;
    meter.go();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const tracking = setInterval(() => track(5), 10);
    // A write of the app's own while the lock is held: it waits without blocking, then gives up.
    const started = Date.now();
    let writeWaitedMs = 0;
    const write = store.addToBlacklist('blocked-meanwhile').then(
      () => undefined,
      (error: unknown) => error,
    );
    void write.then(() => {
      writeWaitedMs = Date.now() - started;
    });
    const { heldMs } = await holder.result;
    clearInterval(tracking);
    lag.disable();
    const { maxLagMs: machineLagMs } = await meter.result;
    const writeError = await write;

    // After the release, what failed to flush is still pending and goes out now.
    // (A flush already in flight does not carry calls recorded after it began: a second one does.)
    for (let i = 0; i < 20; i++) {
      await service.flush();
      if (i > 0 && service.pendingMetricBuckets() === 0) break;
    }
    const stored = (await store.readMetrics(0, ['search']))
      .filter((b) => b.arm === 'treatment')
      .reduce((sum, b) => sum + b.calls, 0);
    const maxLagMs = lag.max / 1e6;
    console.log(
      `lock held ${heldMs} ms by another process: max event-loop lag ${maxLagMs.toFixed(1)} ms (p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms), against ${baseline.toFixed(1)} ms for the same work unlocked before and ${machineLagMs.toFixed(1)} ms in a process without a database meanwhile; tracked ${tracked} calls, stored ${stored}, lost ${tracked - stored}; a write waited ${writeWaitedMs} ms, then ${writeError === undefined ? 'succeeded' : (writeError as Error).message}`,
    );
    await service.close();
    await store.close();

    expect(heldMs).toBeGreaterThanOrEqual(HOLD_MS - 50);
    // The target is 100 ms; a machine that stalls by itself (either baseline) gets more room. A
    // stall the load causes grows with it, and a process with work every 10 ms (this one) waits
    // for a core more often than the idle meter: measured 170 ms here against the meter's 115 ms
    // on a loaded 2-core machine. A store that waited for the lock on the event loop would stall it
    // for its busy timeout (5 s), far past all of them.
    expect(maxLagMs).toBeLessThan(Math.max(100, baseline + 50, 2 * machineLagMs + 50));
    expect(tracked).toBeGreaterThan(0);
    expect(stored).toBe(tracked);
    // busyTimeoutMs (5 s) ran out before the lock was released: the write was refused, not frozen.
    expect(writeError).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      cause: expect.objectContaining({ code: 'SQLITE_BUSY' }),
    });
    // The flushes that failed meanwhile were reported, not swallowed.
    expect(errors.some((e) => e.code === 'STORE_UNAVAILABLE')).toBe(true);
  }, 40_000);
});
