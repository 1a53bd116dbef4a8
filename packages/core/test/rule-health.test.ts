import { CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

describe('health per rule in the status', () => {
  it('reports the calls and health of each rule with its own percentage; the feature stays judged whole', async () => {
    const clock = new ManualClock(T0);
    const service = await CanaryRolloutService.create({
      clock,
      store: new MemoryStore(),
      config: {
        canaryRollout: {
          thresholds: { minSampleSize: 50 },
          features: {
            aiExtraction: {
              enabled: true,
              rolloutPercentage: 100,
              rules: [
                {
                  name: 'pro',
                  constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }],
                  rolloutPercentage: 100,
                },
                { name: 'staff', constraints: [{ attribute: 'staff', operator: 'in', values: [true] }] },
              ],
            },
            plain: { enabled: true, rolloutPercentage: 50 },
          },
        },
      },
    });
    for (let i = 0; i < 400; i++) {
      const userId = `user-${i}`;
      const pro = i % 4 === 0;
      const context = { userId, attributes: pro ? { plan: 'pro' } : { plan: 'free', staff: i % 4 === 1 } };
      // Pro users fail one call in five; everyone else never fails.
      const failed = pro && i % 20 === 0 ? 1 : 0;
      service.trackUsage('aiExtraction', context, { calls: 1, failedCalls: failed, latency: 100 });
    }
    await service.flush();
    const status = service.getRolloutStatus().features.aiExtraction!;
    expect(status.metrics).toMatchObject({ calls: 400, failedCalls: 20 });
    // The rule with its own percentage is reported; the one without is not.
    expect(status.rules).toHaveLength(1);
    const [pro] = status.rules!;
    expect(pro).toMatchObject({ index: 0, name: 'pro', rolloutPercentage: 100, health: 'critical' });
    expect(pro!.metrics).toMatchObject({ calls: 100, failedCalls: 20, errorRate: 0.2 });
    expect(service.getRolloutStatus().features.plain!.rules).toBeUndefined();
    // Calls of users the rule did not turn on are the feature's only.
    service.trackUsage('aiExtraction', { userId: 'x', attributes: { plan: 'free' } }, { calls: 10 });
    await service.flush();
    expect(service.getRolloutStatus().features.aiExtraction!.rules![0]!.metrics.calls).toBe(100);
    expect(service.getRolloutStatus().features.aiExtraction!.metrics.calls).toBe(410);
    await service.close();
  });
});
