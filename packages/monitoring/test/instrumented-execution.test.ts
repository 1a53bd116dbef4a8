import { describe, expect, it } from 'vitest';
import { setup } from './helpers';

describe('runFeature: the instrumented execution the monitor judges', () => {
  it('runs the feature or the fallback, records outcomes and latency, and lets fallback errors through', async () => {
    const { clock, rollout, monitor } = await setup({
      canaryRollout: {
        features: {
          aiExtraction: { enabled: true, rolloutPercentage: 100 },
          tableExtraction: { enabled: false },
        },
      },
    });
    clock.advance(1_000);
    const ran: string[] = [];
    const paths = (fail: boolean) => ({
      enabled: async () => {
        ran.push('ai');
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) throw new Error('model unavailable');
        return 'ai-result';
      },
      fallback: () => {
        ran.push('ocr');
        return 'ocr-result';
      },
    });
    expect(await rollout.runFeature('u1', 'aiExtraction', paths(false))).toBe('ai-result');
    expect(await rollout.runFeature('u2', 'aiExtraction', paths(true))).toBe('ocr-result');
    expect(await rollout.runFeature('u3', 'tableExtraction', paths(false))).toBe('ocr-result');
    expect(await rollout.runFeature('u4', 'unknownFeature', paths(false))).toBe('ocr-result');
    expect(ran).toEqual(['ai', 'ai', 'ocr', 'ocr', 'ocr']);
    await expect(
      rollout.runFeature('u5', 'aiExtraction', {
        enabled: () => {
          throw new Error('model unavailable');
        },
        fallback: () => {
          throw new Error('ocr unavailable');
        },
      }),
    ).rejects.toThrow('ocr unavailable');

    clock.advance(30_000);
    const report = await monitor.tick();
    expect(report.features.aiExtraction).toMatchObject({ calls: 3, errorRate: 2 / 3 });
    expect(report.features.aiExtraction!.p95Latency).toBeGreaterThan(1);
    // Features that did not run record nothing: the fallback path is not the feature's traffic.
    expect(report.features.tableExtraction!.calls).toBe(0);
  });
});
