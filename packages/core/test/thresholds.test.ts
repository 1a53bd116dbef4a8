import { describe, expect, it } from 'vitest';
import type { MetricsSummary } from '../src/metrics/summary';
import { defaultConfig, parseConfig } from '../src/schemas/config';
import { evaluateHealth, thresholdsFor } from '../src/thresholds/evaluate';

const thresholds = thresholdsFor(defaultConfig());

function window(calls: number, failures: number, p95: number | null = 100): MetricsSummary {
  return {
    calls,
    successfulCalls: calls - failures,
    failedCalls: failures,
    errorRate: calls === 0 ? null : failures / calls,
    successRate: calls === 0 ? null : (calls - failures) / calls,
    averageLatency: p95,
    p50Latency: p95,
    p95Latency: p95,
    activeUsers: calls,
  };
}

describe('evaluateHealth', () => {
  it('is healthy with no data and with figures inside every threshold', () => {
    expect(evaluateHealth({ thresholds })).toEqual({
      level: 'healthy',
      findings: [],
      rollbackRequired: false,
    });
    expect(evaluateHealth({ window: window(0, 0, null), thresholds }).level).toBe('healthy');
    expect(evaluateHealth({ window: window(1000, 30), thresholds }).level).toBe('healthy');
  });

  it('names a high error rate and a low success rate as critical, with value and threshold', () => {
    const verdict = evaluateHealth({ window: window(1000, 80), thresholds });
    expect(verdict.level).toBe('critical');
    expect(verdict.rollbackRequired).toBe(true);
    expect(verdict.findings).toEqual([
      expect.objectContaining({
        type: 'high-error-rate',
        severity: 'critical',
        value: 0.08,
        threshold: 0.05,
        calls: 1000,
        conclusive: true,
      }),
      expect.objectContaining({
        type: 'low-success-rate',
        severity: 'critical',
        value: 0.92,
        threshold: 0.95,
      }),
    ]);
    expect(verdict.findings[0]!.message).toBe('error rate 8.0 % > 5.0 % over 1000 calls');
  });

  it('does not count a rate exactly at the threshold', () => {
    expect(evaluateHealth({ window: window(1000, 50), thresholds }).level).toBe('healthy');
  });

  it('never makes a finding critical below the minimum sample size', () => {
    const verdict = evaluateHealth({ window: window(2, 1), thresholds });
    expect(verdict.rollbackRequired).toBe(false);
    expect(verdict.level).toBe('warning');
    expect(verdict.findings.map((f) => [f.type, f.severity, f.conclusive])).toEqual([
      ['high-error-rate', 'warning', false],
      ['low-success-rate', 'warning', false],
    ]);
    expect(verdict.findings[0]!.message).toContain('not conclusive');
    // The boundary: exactly minSampleSize calls is enough.
    expect(evaluateHealth({ window: window(100, 10), thresholds }).rollbackRequired).toBe(true);
    expect(evaluateHealth({ window: window(99, 10), thresholds }).rollbackRequired).toBe(false);
  });

  it('warns on p95 latency above the warning threshold, never critical', () => {
    const verdict = evaluateHealth({ window: window(1000, 0, 7000), thresholds });
    expect(verdict).toMatchObject({ level: 'warning', rollbackRequired: false });
    expect(verdict.findings).toEqual([
      expect.objectContaining({ type: 'high-latency', severity: 'warning', value: 7000, threshold: 5000 }),
    ]);
  });

  it('warns on memory above the warning threshold', () => {
    const verdict = evaluateHealth({ memoryMb: 600, thresholds });
    expect(verdict.findings).toEqual([
      expect.objectContaining({ type: 'high-memory', severity: 'warning', value: 600, threshold: 512 }),
    ]);
    expect(evaluateHealth({ memoryMb: 100, thresholds }).level).toBe('healthy');
  });

  it('judges the global error rate against its own threshold and the sample size', () => {
    const critical = evaluateHealth({ global: window(300, 36), thresholds });
    expect(critical.findings).toEqual([
      expect.objectContaining({
        type: 'global-error-rate',
        severity: 'critical',
        value: 0.12,
        threshold: 0.1,
      }),
    ]);
    expect(evaluateHealth({ global: window(300, 27), thresholds }).level).toBe('healthy');
    expect(evaluateHealth({ global: window(50, 10), thresholds }).level).toBe('healthy');
  });

  it('warns on degradation when the error rate or p95 is clearly worse than the window before', () => {
    const errors = evaluateHealth({ window: window(1000, 40), previous: window(1000, 10), thresholds });
    expect(errors.findings).toEqual([
      expect.objectContaining({
        type: 'degradation',
        metric: 'error-rate',
        value: 0.04,
        previous: 0.01,
        severity: 'warning',
      }),
    ]);
    const latency = evaluateHealth({
      window: window(1000, 0, 900),
      previous: window(1000, 0, 400),
      thresholds,
    });
    expect(latency.findings).toEqual([
      expect.objectContaining({ type: 'degradation', metric: 'p95-latency', value: 900, previous: 400 }),
    ]);
    // Small moves and thin windows are not a trend.
    expect(evaluateHealth({ window: window(1000, 12), previous: window(1000, 10), thresholds }).level).toBe(
      'healthy',
    );
    expect(
      evaluateHealth({ window: window(1000, 0, 130), previous: window(1000, 0, 60), thresholds }).level,
    ).toBe('healthy');
    expect(evaluateHealth({ window: window(1000, 40), previous: window(20, 0), thresholds }).level).toBe(
      'healthy',
    );
  });

  it('does not report degradation on top of the finding that already covers the figure', () => {
    const verdict = evaluateHealth({ window: window(1000, 90), previous: window(1000, 10), thresholds });
    expect(verdict.findings.map((f) => f.type)).toEqual(['high-error-rate', 'low-success-rate']);
  });

  it('lists critical findings before warnings', () => {
    const verdict = evaluateHealth({ window: window(1000, 80, 9000), memoryMb: 900, thresholds });
    expect(verdict.findings.map((f) => f.severity)).toEqual(['critical', 'critical', 'warning', 'warning']);
  });
});

describe('thresholdsFor', () => {
  it('takes the guide defaults, and per-feature rates where the feature sets them', () => {
    const config = parseConfig({
      canaryRollout: {
        features: { aiExtraction: { maxErrorRate: 0.02, minSuccessRate: 0.9 } },
        thresholds: { minSampleSize: 10, latencyWarningMs: 2000 },
      },
    });
    expect(thresholdsFor(defaultConfig())).toEqual({
      maxErrorRate: 0.05,
      minSuccessRate: 0.95,
      globalErrorRate: 0.1,
      latencyWarningMs: 5000,
      memoryWarningMb: 512,
      minSampleSize: 100,
    });
    expect(thresholdsFor(config, 'aiExtraction')).toMatchObject({
      maxErrorRate: 0.02,
      minSuccessRate: 0.9,
      minSampleSize: 10,
      latencyWarningMs: 2000,
    });
    expect(thresholdsFor(config, 'other')).toMatchObject({ maxErrorRate: 0.05, minSuccessRate: 0.95 });
  });
});
