import { type CanaryConfigInput, CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import {
  armOf,
  BETA_ARM,
  bucketOf,
  CONTROL_ARM,
  TREATMENT_ARM,
  variantArm,
} from '@canary-rollout/core/experiments';
import { mergeAll } from '@canary-rollout/core/monitor-kit';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const services: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});
async function make(config: CanaryConfigInput, store = new MemoryStore()) {
  const service = await CanaryRolloutService.create({ clock: new ManualClock(T0), config, store });
  services.push(service);
  return service;
}
const ids = (n: number) => Array.from({ length: n }, (_, i) => `account-${i}`);

async function arms(service: CanaryRolloutService, feature: string) {
  await service.flush();
  const buckets = await service.store.readMetrics(0, [feature]);
  const merged = (arm: string) =>
    mergeAll(
      buckets.filter((b) => b.arm === arm),
      feature,
      arm,
    );
  return merged;
}

describe('runFeature records treatment and control', () => {
  it('runs the fallback for the control group and records it under control; others are not compared', async () => {
    const service = await make({
      canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 10 } } },
    });
    await service.addBetaUser('beta-1', 'aiExtraction');
    await service.blacklistUser('banned-1');
    const expected = { treatment: 0, control: 0, outside: 0 };
    for (const id of ids(4000)) {
      const arm = armOf(bucketOf('aiExtraction', id), 1000);
      expected[arm ?? 'outside']++;
      const result = await service.runFeature(id, 'aiExtraction', {
        enabled: () => 'ai',
        fallback: () => 'ocr',
      });
      expect(result).toBe(arm === 'treatment' ? 'ai' : 'ocr');
    }
    for (const id of ['beta-1', 'banned-1']) {
      await service.runFeature(id, 'aiExtraction', { enabled: () => 'ai', fallback: () => 'ocr' });
    }
    const merged = await arms(service, 'aiExtraction');
    expect(merged(TREATMENT_ARM).calls).toBe(expected.treatment + 1); // the beta member counts for health
    expect(merged(BETA_ARM).calls).toBe(1); // ... and is taken out of the comparison
    expect(merged(CONTROL_ARM).calls).toBe(expected.control);
    expect(merged(CONTROL_ARM).latencyCount).toBe(expected.control);
    expect(expected.control).toBeGreaterThan(300);
    expect(Math.abs(expected.control - expected.treatment)).toBeLessThan(120);
  });

  it('records a failing fallback of a control user as a control failure and rethrows it', async () => {
    const service = await make({
      canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 10 } } },
    });
    const control = ids(5000).find((id) => armOf(bucketOf('aiExtraction', id), 1000) === 'control')!;
    const outside = ids(5000).find((id) => armOf(bucketOf('aiExtraction', id), 1000) === null)!;
    const failing = {
      enabled: () => 'ai',
      fallback: (): string => {
        throw new Error('ocr down');
      },
    };
    await expect(service.runFeature(control, 'aiExtraction', failing)).rejects.toThrow('ocr down');
    await expect(service.runFeature(outside, 'aiExtraction', failing)).rejects.toThrow('ocr down');
    const merged = await arms(service, 'aiExtraction');
    expect(merged(CONTROL_ARM)).toMatchObject({ calls: 1, failures: 1, successes: 0 });
    expect(merged(TREATMENT_ARM).calls).toBe(0);
  });

  it('records nothing under control for stable or beta-only features, nor at 0 %', async () => {
    const service = await make({
      canaryRollout: {
        features: {
          off: { enabled: true, rolloutPercentage: 0 },
          betaOnly: { enabled: true, rolloutStrategy: 'beta-only' },
        },
      },
    });
    for (const id of ids(500)) {
      for (const feature of ['off', 'betaOnly']) {
        await service.runFeature(id, feature, { enabled: () => 1, fallback: () => 0 });
      }
    }
    await service.flush();
    expect(await service.store.readMetrics(0)).toEqual([]);
  });
});

describe('variants', () => {
  const variants = [
    { name: 'gpt-extract', weight: 50 },
    { name: 'local-extract', weight: 50 },
  ];
  const config = (weights: typeof variants): CanaryConfigInput => ({
    canaryRollout: {
      features: { aiExtraction: { enabled: true, rolloutPercentage: 50, variants: weights } },
    },
  });

  it('assigns deterministically, null when the feature is off for the user, and passes the variant to run', async () => {
    const store = new MemoryStore();
    const a = await make(config(variants), store);
    const b = await make(config(variants), store);
    let on = 0;
    for (const id of ids(2000)) {
      const variant = a.getVariant(id, 'aiExtraction');
      expect(b.getVariant(id, 'aiExtraction')).toBe(variant);
      expect(variant === null).toBe(!a.isFeatureEnabledForUser(id, 'aiExtraction'));
      if (variant === null) continue;
      on++;
      const seen = await a.runFeature(id, 'aiExtraction', {
        enabled: (v) => v,
        fallback: () => 'none',
      });
      expect(seen).toBe(variant);
    }
    expect(a.getVariant('account-1', 'noSuchFeature')).toBeNull();
    const merged = await arms(a, 'aiExtraction');
    const gpt = merged(variantArm('gpt-extract')).calls;
    const local = merged(variantArm('local-extract')).calls;
    expect(gpt + local).toBe(on);
    expect(merged(TREATMENT_ARM).calls).toBe(on);
    expect(Math.abs(gpt - local)).toBeLessThan(on * 0.1);
  });

  it('keeps the existing runFeature signature: enabled without a parameter still works', async () => {
    const service = await make(config(variants));
    const id = ids(100).find((u) => service.isFeatureEnabledForUser(u, 'aiExtraction'))!;
    expect(await service.runFeature(id, 'aiExtraction', { enabled: () => 'ai', fallback: () => 'ocr' })).toBe(
      'ai',
    );
  });

  it('moves only the users a weight change must move', async () => {
    const store = new MemoryStore();
    const before = await make(config(variants), store);
    const after = await make(
      config([
        { name: 'gpt-extract', weight: 50 },
        { name: 'local-extract', weight: 30 },
      ]),
      store,
    );
    let on = 0;
    let moved = 0;
    for (const id of ids(20_000)) {
      const was = before.getVariant(id, 'aiExtraction');
      if (was === null) continue;
      on++;
      const now = after.getVariant(id, 'aiExtraction');
      if (now === was) continue;
      moved++;
      // Lowering local-extract's weight only moves its users out, into the other variant.
      expect([was, now]).toEqual(['local-extract', 'gpt-extract']);
    }
    // 50:50 -> 50:30 must move 62.5 % - 50 % = 12.5 % of users, and moves no more.
    expect(moved / on).toBeGreaterThan(0.11);
    expect(moved / on).toBeLessThan(0.14);
  });
});
