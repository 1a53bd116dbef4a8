import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CanaryRolloutService, ManualClock } from '@canary-rollout/core';
import { RolloutMonitoringService } from '@canary-rollout/monitoring';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, expect, it } from 'vitest';
import { GUIDE_CONFIG, run, type Sandbox, sandbox } from './helpers';

let box: Sandbox | undefined;
afterEach(() => {
  box?.cleanup();
  box = undefined;
});

it('status shows the critical monitor-blind alert of a monitor whose store lost the state', async () => {
  box = sandbox();
  const now = Date.now();
  const clock = new ManualClock(now);
  const store = new FileStore({ dir: box.storeDir, onWarning: () => undefined });
  const rollout = await CanaryRolloutService.create({
    store,
    clock,
    config: GUIDE_CONFIG,
    refreshIntervalMs: 3_600_000,
  });
  const monitor = new RolloutMonitoringService({ rollout, comparison: 'off', memoryUsage: () => 2 ** 27 });
  rollout.events.on('error', () => undefined);
  try {
    await monitor.tick();
    rmSync(join(box.storeDir, 'rollout-config.json'));
    await rollout.refresh();
    clock.advance(1000);
    const report = await monitor.tick();
    expect(report.level).toBe('critical');
  } finally {
    await monitor.stop();
    await rollout.close();
    await store.close();
  }
  const text = await run(box, ['status'], { now: () => now + 2000 });
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(
    /CRITICAL .*monitor mon\S+ is blind: the store lost the state of 3 feature\(s\); restored/,
  );
  const json = JSON.parse((await run(box, ['status', '--json'], { now: () => now + 2000 })).stdout);
  expect(json.health.level).toBe('critical');
  expect(json.activeAlerts).toEqual([
    expect.objectContaining({ level: 'critical', type: 'monitor-blind', feature: null }),
  ]);
  // The store holds the features again, at their live values.
  expect(json.features.ocrFallback).toMatchObject({ rolloutPercentage: 100, stored: true });
});
