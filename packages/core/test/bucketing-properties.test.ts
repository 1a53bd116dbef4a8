import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import { bucketOf } from '@canary-rollout/core/experiments';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const N = 100_000;
const ids = Array.from({ length: N }, (_, i) => `user-${i}@example.com`);
const buckets = (salt: string) => ids.map((id) => bucketOf(salt, id));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Chi-square of an observed split in/out of the rollout against p %. */
function chiSquareInOut(inRollout: number, p: number): number {
  const expectedIn = (N * p) / 100;
  const expectedOut = N - expectedIn;
  return (inRollout - expectedIn) ** 2 / expectedIn + (N - inRollout - expectedOut) ** 2 / expectedOut;
}

describe('bucketing over 100,000 ids', () => {
  const ai = buckets('aiExtraction');

  it('is deterministic across processes', () => {
    const child = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/bucket-digest.ts', import.meta.url)),
        'aiExtraction',
        String(N),
      ],
      { cwd: repoRoot, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
    );
    expect(child.trim().split(',').map(Number)).toEqual(ai);
  });

  it('puts p % of users in a p % rollout (chi-square, 1 dof, alpha 0.001) at 1, 5, 25 and 50 %', () => {
    for (const p of [1, 5, 25, 50]) {
      const threshold = p * 100;
      const count = ai.filter((b) => b < threshold).length;
      expect(chiSquareInOut(count, p), `at ${p} %: ${count} of ${N}`).toBeLessThan(10.83);
    }
  });

  it('spreads users evenly over 100 bucket ranges (chi-square, 99 dof, alpha 0.001)', () => {
    const counts = new Array<number>(100).fill(0);
    for (const b of ai) counts[Math.floor(b / 100)]! += 1;
    const expected = N / 100;
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(148.23);
  });

  it('draws independent users per feature: two 10 % features share about 1 %', () => {
    const salts = ['aiExtraction', 'ocrFallback', 'tableExtraction'];
    const all = salts.map(buckets);
    for (let a = 0; a < salts.length; a++) {
      for (let b = a + 1; b < salts.length; b++) {
        let both = 0;
        for (let i = 0; i < N; i++) if (all[a]![i]! < 1000 && all[b]![i]! < 1000) both++;
        // Expected 1,000 (1 %), standard deviation about 31: five of them either way.
        expect(both, `${salts[a]} x ${salts[b]}`).toBeGreaterThan(1000 - 160);
        expect(both, `${salts[a]} x ${salts[b]}`).toBeLessThan(1000 + 160);
      }
    }
  });

  it('ramps monotonically: 10 -> 25 % keeps every user who had it, 25 -> 10 % removes only users', async () => {
    const service = await CanaryRolloutService.create({
      clock: new ManualClock(1_700_000_000_000),
      store: new MemoryStore(),
      config: { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 10 } } } },
    });
    const on = () => new Set(ids.filter((id) => service.isFeatureEnabledForUser(id, 'aiExtraction')));
    const at10 = on();
    await service.updateRolloutPercentage('aiExtraction', 25);
    const at25 = on();
    for (const id of at10) expect(at25.has(id)).toBe(true);
    expect(at25.size).toBeGreaterThan(at10.size);
    await service.updateRolloutPercentage('aiExtraction', 10);
    const back = on();
    for (const id of back) expect(at25.has(id)).toBe(true);
    expect(back).toEqual(at10);
    await service.close();
  });

  it('for any two percentages, the smaller rollout is a subset of the larger (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 50 }),
        (a, b, users) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          for (const user of users) {
            const bucket = bucketOf('aiExtraction', user);
            if (bucket < low) expect(bucket < high).toBe(true);
          }
        },
      ),
    );
  });
});
