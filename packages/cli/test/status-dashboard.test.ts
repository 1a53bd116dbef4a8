import { existsSync } from 'node:fs';
import { CanaryRolloutService, ManualClock } from '@canary-rollout/core';
import { RolloutMonitoringService } from '@canary-rollout/monitoring';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GUIDE_CONFIG, run, type Sandbox, sandbox, snapshotTree } from './helpers';

const T0 = Date.UTC(2025, 0, 27, 9, 0, 0);

let box: Sandbox;
let clock: ManualClock;
beforeEach(() => {
  box = sandbox();
  clock = new ManualClock(T0);
});
afterEach(() => box.cleanup());

const now = () => clock.now();

/** An app process: serves `users` requests of aiExtraction, `failEvery`-th one failing, then flushes. */
async function traffic(options: {
  users: number;
  failEvery: number;
  latencyMs: number;
  monitor?: 'tick' | 'none';
  autoRollback?: boolean;
}) {
  const store = new FileStore({ dir: box.storeDir, watch: false, pollIntervalMs: 0 });
  const service = await CanaryRolloutService.create({ store, config: GUIDE_CONFIG, clock });
  await service.updateRolloutPercentage('aiExtraction', 25);
  for (let i = 0; i < options.users; i++) {
    const failed = options.failEvery > 0 && i % options.failEvery === 0;
    service.trackFeatureUsage(`account-${i}`, 'aiExtraction', {
      calls: 1,
      failedCalls: failed ? 1 : 0,
      latency: options.latencyMs,
    });
  }
  clock.advance(10_000);
  await service.flush();
  if (options.monitor === 'tick') {
    const monitor = new RolloutMonitoringService({
      rollout: service,
      autoRollback: options.autoRollback ?? false,
    });
    await monitor.tick();
    await monitor.stop();
  }
  await service.close();
  await store.close();
}

describe('status', () => {
  it('shows calls, error and success rates and p95 latency over the window', async () => {
    await traffic({ users: 400, failEvery: 50, latencyMs: 800 });
    const result = await run(box, ['status'], { now });
    expect(result.code).toBe(0);
    // 400 calls, 8 failures: 2 % errors, 98 % success; judged from the window (no monitor ran).
    expect(result.stdout).toMatch(
      /^aiExtraction\s+on\s+25 %\s+gradual\s+0\s+\d+\s+400\s+2\.0 %\s+98\.0 %\s+\d+ ms\s+healthy\s+-$/m,
    );
    expect(result.stdout).toContain(
      'Health: no monitor has written a health report yet; judged here from the window',
    );

    const json = JSON.parse((await run(box, ['status', '--json'], { now })).stdout);
    const ai = json.features.aiExtraction;
    expect(ai.metrics).toMatchObject({ calls: 400, failedCalls: 8, errorRate: 0.02, successRate: 0.98 });
    expect(ai.metrics.p95Latency).toBeGreaterThan(700);
    expect(ai.metrics.p95Latency).toBeLessThan(900);
    expect(ai.metrics.activeUsers).toBeGreaterThan(380);
    expect(ai.health).toMatchObject({ level: 'healthy', source: 'window' });
    expect(json.store).toBe(`file:${box.storeDir}`);
  });

  it("shows the monitor's verdict and its active alerts", async () => {
    await traffic({ users: 400, failEvery: 10, latencyMs: 300, monitor: 'tick', autoRollback: false });
    const result = await run(box, ['status'], { now });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^aiExtraction\s+on\s+25 %\s+gradual\s+0\s+\d+\s+400\s+10\.0 %\s+90\.0 %\s+\d+ ms\s+critical\s+-$/m,
    );
    expect(result.stdout).toMatch(/Health: critical, from the monitor's report of 2025-01-27 09:00 UTC/);
    expect(result.stdout).toMatch(
      /Active alerts \(1\):\n {2}CRITICAL aiExtraction: .*error rate 10(\.0)? % > 5(\.0)? %/,
    );
  });

  it('shows the last rollback after the monitor rolled a failing feature back', async () => {
    await traffic({ users: 400, failEvery: 10, latencyMs: 300, monitor: 'tick', autoRollback: true });
    clock.advance(60_000);
    const result = await run(box, ['status'], { now });
    expect(result.stdout).toMatch(/^aiExtraction\s+on\s+0 %\s+gradual\s+0\s.*1 min ago$/m);
    expect(result.stdout).toMatch(
      /aiExtraction: last rollback 2025-01-27 09:00 UTC \(1 min ago\), automatic rollback: error rate/,
    );
    // The reason says "automatic rollback" itself: no "automatic: automatic rollback".
    expect(result.stdout).not.toMatch(/\b([a-z]{3,}):? \1\b/i);
    const json = JSON.parse((await run(box, ['status', '--json'], { now })).stdout);
    expect(json.features.aiExtraction.lastRollback).toMatchObject({
      source: 'automatic',
      previous: { rolloutPercentage: 25 },
    });
  });

  it('is coloured on a terminal, plain when piped or with NO_COLOR', async () => {
    await traffic({ users: 200, failEvery: 0, latencyMs: 100 });
    const esc = '\u001b[';
    const tty = await run(box, ['status'], { now, tty: true });
    expect(tty.stdout).toContain(`${esc}32mhealthy${esc}39m`);
    expect(tty.stdout).toContain('─');
    const piped = await run(box, ['status'], { now, tty: false });
    expect(piped.stdout).not.toContain(esc);
    expect(piped.stdout).not.toContain('─');
    const noColor = await run(box, ['status'], { now, tty: true, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).not.toContain(esc);
    expect((await run(box, ['status', '--no-color'], { now, tty: true })).stdout).not.toContain(esc);
  });

  it('fits an 80-column terminal by changing layout, not by wrapping the table', async () => {
    await traffic({ users: 200, failEvery: 0, latencyMs: 100 });
    const wide = await run(box, ['status'], { now, tty: true, columns: 200, env: { NO_COLOR: '1' } });
    expect(wide.stdout).toMatch(/^FEATURE\s+STATE\s+ROLLOUT/m);
    const tableWidth = Math.max(...wide.stdout.split('\n').map((l) => l.length));
    expect(tableWidth).toBeGreaterThan(80);

    const narrow = await run(box, ['status'], { now, tty: true, columns: 80, env: { NO_COLOR: '1' } });
    expect(narrow.stdout).not.toMatch(/^FEATURE\s+STATE/m);
    expect(narrow.stdout).toMatch(/^aiExtraction {2}on {2}25 % gradual {2}healthy$/m);
    expect(narrow.stdout).toMatch(/^ {2}errors 0\.0 % {2}success 100\.0 % {2}p95 \d+ ms$/m);
    // COLUMNS says the same when the stream does not know its width.
    const fromEnv = await run(box, ['status'], { now, env: { COLUMNS: '80' } });
    expect(fromEnv.stdout).not.toMatch(/^FEATURE\s+STATE/m);
    // Notes and alerts are prose: only the table is judged, and it fits.
    const tableLines = narrow.stdout
      .split('\n')
      .filter((l) => /^(aiExtraction|ocrFallback|tableExtraction) {2}|^ {2}\S/.test(l));
    expect(tableLines.length).toBeGreaterThan(6);
    for (const line of tableLines) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('is ASCII only under TERM=dumb, and honours FORCE_COLOR', async () => {
    await traffic({ users: 200, failEvery: 0, latencyMs: 100 });
    const esc = '\u001b[';
    const dumb = await run(box, ['status'], { now, tty: true, env: { TERM: 'dumb' } });
    expect(dumb.stdout).toMatch(/^[\x20-\x7e\n]*$/);
    expect(dumb.stdout).toContain('blacklisted; metrics window');
    const forced = await run(box, ['status'], { now, tty: false, env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(`${esc}32mhealthy${esc}39m`);
    // FORCE_COLOR wins over NO_COLOR; FORCE_COLOR=0 turns colour off on a terminal.
    expect((await run(box, ['status'], { now, env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout).toContain(
      esc,
    );
    expect((await run(box, ['status'], { now, tty: true, env: { FORCE_COLOR: '0' } })).stdout).not.toContain(
      esc,
    );
    expect(
      (await run(box, ['status', '--no-color'], { now, env: { FORCE_COLOR: '1' } })).stdout,
    ).not.toContain(esc);
  });

  it('writes nothing, and on a fresh HOME creates no store', async () => {
    const fresh = await run(box, ['status']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('aiExtraction: from the config; the store gets it when the app starts');
    expect(existsSync(box.storeDir)).toBe(false);

    await traffic({ users: 10, failEvery: 0, latencyMs: 100 });
    const before = snapshotTree(box.storeDir);
    await run(box, ['status'], { now });
    await run(box, ['status', '--json'], { now });
    await run(box, ['list-users'], { now });
    expect(snapshotTree(box.storeDir)).toEqual(before);
  });

  it('without a config file lists the features of the store and says how to declare them', async () => {
    const empty = sandbox(null);
    try {
      const result = await run(empty, ['status']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Config: none (features come from the store only)');
      expect(result.stdout).toContain('No features yet: declare them in config/canary-rollout.json');
      const update = await run(empty, ['update-rollout', 'aiExtraction', '5']);
      expect(update.stderr).toContain(
        'no features yet: declare them in config/canary-rollout.json or pass --config',
      );
    } finally {
      empty.cleanup();
    }
  });
});
