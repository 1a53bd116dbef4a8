import { describe, expect, it } from 'vitest';
import { of, setup, traffic, usage } from './helpers';

const gradual25 = {
  canaryRollout: {
    features: { aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const } },
  },
};

describe('automatic rollback', () => {
  it('rolls back once at 8 % errors over 10,000 users at 25 %: one alert, one rollback, in order', async () => {
    const { clock, store, rollout, monitor, events } = await setup(gradual25);
    for (const id of ['beta-1', 'beta-2', 'beta-3']) await rollout.addBetaUser(id, 'aiExtraction');
    events.length = 0;
    clock.advance(1_000);
    const calls = await traffic(rollout, 'aiExtraction', 10_000, 8);
    expect(calls).toBeGreaterThan(2_300);
    expect(calls).toBeLessThan(2_700);

    clock.advance(30_000);
    const report = await monitor.tick();
    expect(events.map((e) => e.event)).toEqual(['alert', 'rollout-changed', 'rollback', 'health']);
    const [alert] = of(events, 'alert');
    expect(alert).toMatchObject({
      level: 'critical',
      type: 'high-error-rate',
      feature: 'aiExtraction',
      rollbackRequired: true,
      autoRollback: true,
      resolved: false,
    });
    expect(alert!.findings.map((f) => f.type)).toEqual(['high-error-rate', 'low-success-rate']);
    expect(alert!.findings[0]!.value).toBeCloseTo(0.08, 2);
    expect(of(events, 'rollout-changed')[0]).toMatchObject({
      feature: 'aiExtraction',
      previous: { rolloutPercentage: 25 },
      current: { rolloutPercentage: 0 },
    });
    const [rollback] = of(events, 'rollback');
    expect(rollback).toMatchObject({ feature: 'aiExtraction', cause: 'feature' });
    expect(rollback!.reason).toMatch(/^automatic rollback: error rate 8\.\d % > 5\.0 % over \d+ calls/);
    expect(rollback!.figures).toMatchObject({ calls, maxErrorRate: 0.05, minSuccessRate: 0.95 });
    expect(rollback!.figures.errorRate).toBeCloseTo(0.08, 2);
    expect(report).toMatchObject({ level: 'critical', rolledBack: ['aiExtraction'] });

    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(0);
    expect(rollout.getBetaUsers('aiExtraction')).toEqual([]);
    expect(rollout.isFeatureEnabledForUser('beta-1', 'aiExtraction')).toBe(false);
    const records = await store.listRollbacks('aiExtraction');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      source: 'automatic',
      previous: { rolloutPercentage: 25, betaUsers: 3 },
    });

    // Later ticks: the incident is over (the feature is off, its stage began anew), reported once.
    for (let i = 0; i < 5; i++) {
      clock.advance(30_000);
      await monitor.tick();
    }
    const alerts = of(events, 'alert');
    expect(alerts.filter((a) => a.level === 'critical' && !a.resolved)).toHaveLength(1);
    expect(alerts.filter((a) => a.resolved)).toEqual([
      expect.objectContaining({ id: alert!.id, level: 'critical', feature: 'aiExtraction', resolved: true }),
    ]);
    expect(of(events, 'rollback')).toHaveLength(1);
    expect(await store.listRollbacks()).toHaveLength(1);

    // The logs hold the alerts and reports, with times and without personal data.
    const logged = await store.listLogs('alerts');
    expect(logged.map((a) => a['id'])).toEqual([alert!.id, alert!.id]);
    const reports = await store.listLogs('health-reports');
    expect(reports).toHaveLength(6);
    const text = JSON.stringify([logged, reports, records]);
    expect(text).not.toContain('@example.com');
    expect(text).not.toContain('beta-1');
  });

  it('does not roll back at 3 % errors', async () => {
    const { clock, rollout, monitor, events } = await setup(gradual25);
    clock.advance(1_000);
    await traffic(rollout, 'aiExtraction', 10_000, 3);
    clock.advance(30_000);
    const report = await monitor.tick();
    expect(report.features.aiExtraction).toMatchObject({ level: 'healthy', rolloutPercentage: 25 });
    expect(report.features.aiExtraction!.errorRate).toBeCloseTo(0.03, 2);
    expect(of(events, 'alert')).toEqual([]);
    expect(of(events, 'rollback')).toEqual([]);
    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
  });

  it('does not roll back on one failure out of two calls (below the minimum sample size)', async () => {
    const { clock, rollout, monitor, events } = await setup(gradual25);
    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 2, 1);
    clock.advance(30_000);
    const report = await monitor.tick();
    expect(report.features.aiExtraction!.level).toBe('warning');
    expect(report.features.aiExtraction!.findings[0]).toMatchObject({
      type: 'high-error-rate',
      severity: 'warning',
      conclusive: false,
    });
    expect(of(events, 'alert').map((a) => a.level)).toEqual(['warning']);
    expect(of(events, 'rollback')).toEqual([]);
    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
  });

  it('warns on a high p95 latency and does not roll back', async () => {
    const { clock, rollout, monitor, events } = await setup(gradual25);
    clock.advance(1_000);
    usage(rollout, 'aiExtraction', 190, 0, 800);
    usage(rollout, 'aiExtraction', 20, 0, 7_000);
    clock.advance(30_000);
    await monitor.tick();
    const alerts = of(events, 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 'warning', type: 'high-latency', rollbackRequired: false });
    expect(alerts[0]!.findings[0]!.value).toBeGreaterThan(5_000);
    expect(alerts[0]!.findings[0]!.threshold).toBe(5_000);
    expect(of(events, 'rollback')).toEqual([]);
    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
  });

  it('rolls back every feature not on the stable strategy once when the global error rate is 12 %', async () => {
    const { clock, store, rollout, monitor, events } = await setup({
      canaryRollout: {
        features: {
          aiExtraction: { enabled: true, rolloutPercentage: 40, rolloutStrategy: 'gradual' },
          ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
          tableExtraction: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' },
        },
      },
    });
    await rollout.addBetaUser('beta-1', 'ocrFallback');
    clock.advance(1_000);
    // 12 % over 50 calls each: no feature alone is conclusive, together they are (150 >= 100).
    for (const feature of ['aiExtraction', 'ocrFallback', 'tableExtraction']) usage(rollout, feature, 50, 6);
    clock.advance(30_000);
    const report = await monitor.tick();
    expect(report.global).toMatchObject({ level: 'critical', calls: 150 });
    expect(report.global.errorRate).toBeCloseTo(0.12, 10);
    expect(report.global.findings[0]).toMatchObject({ type: 'global-error-rate', threshold: 0.1 });
    expect(Object.values(report.features).map((f) => f.level)).toEqual(['warning', 'warning', 'warning']);

    for (let i = 0; i < 4; i++) {
      clock.advance(30_000);
      await monitor.tick();
    }
    const rollbacks = of(events, 'rollback');
    expect(rollbacks.map((r) => [r.feature, r.cause]).sort()).toEqual([
      ['aiExtraction', 'global-error-rate'],
      ['ocrFallback', 'global-error-rate'],
    ]);
    expect(rollbacks[0]!.figures).toMatchObject({ globalCalls: 150, globalErrorRateThreshold: 0.1 });
    expect((await store.listRollbacks()).map((r) => r.feature).sort()).toEqual([
      'aiExtraction',
      'ocrFallback',
    ]);
    expect(rollout.getFeature('tableExtraction')).toMatchObject({
      rolloutStrategy: 'stable',
      rolloutPercentage: 100,
    });
    expect(rollout.getBetaUsers('ocrFallback')).toEqual([]);
    expect(of(events, 'alert').filter((a) => a.feature === null && !a.resolved)).toEqual([
      expect.objectContaining({ level: 'critical', type: 'global-error-rate' }),
    ]);
  });

  it('only alerts when automatic rollback is switched off', async () => {
    const { clock, rollout, monitor, events } = await setup(gradual25, { autoRollback: false });
    clock.advance(1_000);
    await traffic(rollout, 'aiExtraction', 10_000, 8);
    clock.advance(30_000);
    await monitor.tick();
    expect(of(events, 'alert')).toEqual([
      expect.objectContaining({ level: 'critical', autoRollback: false }),
    ]);
    expect(of(events, 'rollback')).toEqual([]);
    expect(rollout.getFeature('aiExtraction')!.rolloutPercentage).toBe(25);
  });
});
