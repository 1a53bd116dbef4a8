import { existsSync } from 'node:fs';
import { CanaryRolloutService, ManualClock } from '@canary-rollout/core';
import { CONTROL_ARM, TREATMENT_ARM } from '@canary-rollout/core/experiments';
import { RolloutMonitoringService } from '@canary-rollout/monitoring';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GUIDE_CONFIG, run, type Sandbox, sandbox } from './helpers';

const T0 = Date.UTC(2025, 0, 27, 9, 0, 0);
const HOUR = 3_600_000;
const PLAN_CONFIG = structuredClone(GUIDE_CONFIG) as {
  canaryRollout: { features: Record<string, Record<string, unknown>> };
};
PLAN_CONFIG.canaryRollout.features['aiExtraction']!['plan'] = {
  steps: [1, 5, 10, 25, 50, 100].map((percentage) => ({ percentage, minDurationMs: HOUR, minSamples: 500 })),
};

let box: Sandbox;
let clock: ManualClock;
beforeEach(() => {
  box = sandbox(PLAN_CONFIG);
  clock = new ManualClock(T0);
});
afterEach(() => box.cleanup());
const now = () => clock.now();

describe('plan', () => {
  it('shows the steps, where the feature is, and what comes next', async () => {
    const result = await run(box, ['plan', 'aiExtraction'], { now });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(
      'aiExtraction: plan running, step 1 of 6 (1 %), rollout now 1 %, since 2025-01-27 09:00 UTC (0 s ago)',
    );
    expect(result.stdout).toMatch(/^ > 1\s+1 %\s+1 h\s+500$/m);
    expect(result.stdout).toMatch(/^\s+6\s+100 %\s+1 h\s+500$/m);
    expect(result.stdout).toContain('Next: 5 % from 2025-01-27 10:00 UTC (in 1 h), once the step is healthy');
    expect(result.stdout).toContain('On critical: roll back');
    expect(result.stdout).toContain('Treatment vs control: no comparison reported in this stage yet');

    const json = JSON.parse((await run(box, ['plan', 'aiExtraction', '--json'], { now })).stdout);
    expect(json).toMatchObject({
      feature: 'aiExtraction',
      plan: {
        status: 'running',
        stepIndex: 0,
        rolloutPercentage: 1,
        nextPercentage: 5,
        nextStepAt: T0 + HOUR,
      },
      monitor: null,
      comparison: null,
    });
  });

  it('pauses, skips (with --force inside minStableTime) and resumes, and status shows the step', async () => {
    const paused = await run(box, ['plan', 'aiExtraction', 'pause'], { now });
    expect(paused).toMatchObject({ code: 0, stdout: 'aiExtraction: plan paused at step 1 of 6\n' });
    expect((await run(box, ['plan', 'aiExtraction', 'pause'], { now })).stdout).toBe(
      'aiExtraction: plan is paused (paused by hand (rollout-manager)); nothing changed\n',
    );
    expect((await run(box, ['status'], { now })).stdout).toContain(
      'aiExtraction: plan paused (paused by hand (rollout-manager)), step 1 of 6 (1 %)',
    );

    const refused = await run(box, ['plan', 'aiExtraction', 'skip'], { now });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^rollout-manager: plan skip refused: "aiExtraction" has been at 1 % and healthy since .*; minStableTime allows a raise from .*; pass --force to move now\n$/,
    );
    const skipped = await run(box, ['plan', 'aiExtraction', 'skip', '--force'], { now });
    expect(skipped.stdout).toBe('aiExtraction: plan paused at step 2 of 6, rollout 1 % -> 5 %\n');

    clock.advance(10 * 60_000);
    const resumed = await run(box, ['plan', 'aiExtraction', 'resume', '--json'], { now });
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      action: 'resume',
      changed: true,
      previous: { status: 'paused' },
      plan: { status: 'running', stepIndex: 1, rolloutPercentage: 5 },
    });
    const status = JSON.parse((await run(box, ['status', '--json'], { now })).stdout);
    expect(status.features.aiExtraction.plan).toMatchObject({ status: 'running', stepIndex: 1 });
    expect(status.features.ocrFallback.plan).toBeNull();
    expect((await run(box, ['status'], { now })).stdout).toContain(
      'aiExtraction: plan running, step 2 of 6 (5 %); next 10 % from 2025-01-27 10:00 UTC (in 50 min)',
    );
  });

  it('refuses bad input with exit code 2 and writes nothing', async () => {
    for (const [argv, message] of [
      [['plan', 'ocrFallback'], /ocrFallback has no plan: add canaryRollout\.features\.ocrFallback\.plan/],
      [['plan', 'aiExtraction', 'stop'], /plan: action must be pause, resume, skip, got "stop"/],
      [['plan', 'aiExtraction', 'pause', '--force'], /--force only applies to resume and skip/],
      [['plan', 'aiExtracton'], /unknown feature "aiExtracton" \(did you mean aiExtraction\?\)/],
      [['plan'], /plan: missing <feature>/],
    ] as const) {
      const result = await run(box, [...argv], { now });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect((await run(box, ['rollback', 'aiExtraction', '--force'], { now })).stderr).toMatch(
      /--force only applies to update-rollout and plan resume\|skip/,
    );
    expect(existsSync(box.storeDir)).toBe(false);
  });

  it("shows the monitor's latest comparison of treatment against control in plan and status", async () => {
    const store = new FileStore({ dir: box.storeDir, watch: false, pollIntervalMs: 0 });
    const service = await CanaryRolloutService.create({ store, config: PLAN_CONFIG, clock });
    clock.advance(60_000);
    // 1,000 users in each arm: the feature fails 4 % of calls, the old path 0.5 %.
    for (let i = 0; i < 1000; i++) {
      service.recordUsage(`t-${i}`, 'aiExtraction', TREATMENT_ARM, {
        calls: 1,
        failedCalls: i % 25 === 0 ? 1 : 0,
      });
      service.recordUsage(`c-${i}`, 'aiExtraction', CONTROL_ARM, {
        calls: 1,
        failedCalls: i % 200 === 0 ? 1 : 0,
      });
    }
    clock.advance(10_000);
    const monitor = new RolloutMonitoringService({ rollout: service, autoRollback: false });
    await monitor.tick();
    await monitor.stop();
    await service.close();
    await store.close();

    const line =
      /Treatment vs control \(2025-01-27 09:01 UTC \(0 s ago\)\): WORSE on error-rate, success-rate; errors 4\.0 % vs 0\.5 % \(\+3\.5 pts, interval \+\d\.\d pts to \+\d\.\d pts\) over 1000 \/ 1000 calls/;
    const shown = await run(box, ['plan', 'aiExtraction'], { now });
    expect(shown.stdout).toMatch(line);
    expect(shown.stdout).toMatch(
      /Monitor \(.*\): holding: warning: treatment worse than control: error rate 4\.0 %/,
    );
    expect((await run(box, ['status'], { now })).stdout).toMatch(new RegExp(`aiExtraction: ${line.source}`));
    const json = JSON.parse((await run(box, ['status', '--json'], { now })).stdout);
    expect(json.features.aiExtraction.comparison).toMatchObject({
      verdict: 'worse',
      sampleRatio: { mismatch: false },
      treatmentVsControl: { treatment: { calls: 1000, failures: 40 }, control: { calls: 1000, failures: 5 } },
    });
  });
});
