import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKETS, bucketOf, murmurPrefix, percentageToThreshold } from '../src/bucketing';
import { armOf, armOfUser, controlRange, expectedArmShares } from '../src/experiments';

const threshold = fc.integer({ min: 0, max: BUCKETS });
const bucket = fc.integer({ min: 0, max: BUCKETS - 1 });

function countArms(t: number): { treatment: number; control: number } {
  let treatment = 0;
  let control = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const arm = armOf(b, t);
    if (arm === 'treatment') treatment++;
    else if (arm === 'control') control++;
  }
  return { treatment, control };
}

describe('control group assignment', () => {
  it('treats exactly the buckets below the threshold, as evaluation does', () => {
    fc.assert(
      fc.property(bucket, threshold, (b, t) => {
        expect(armOf(b, t) === 'treatment').toBe(b < t);
      }),
    );
  });

  it('draws a control as large as the treatment up to 50 %, and 100 - p % above', () => {
    for (const p of [0, 0.01, 1, 5, 10, 25, 49.99, 50, 60, 75, 99, 100]) {
      const t = percentageToThreshold(p);
      const { treatment, control } = countArms(t);
      expect(treatment).toBe(t);
      expect(control).toBe(Math.min(t, BUCKETS - t));
      const range = controlRange(t);
      expect(range.end - range.start).toBe(control);
    }
  });

  it('puts control buckets in [T, min(2T, 10000)), disjoint from the treatment', () => {
    fc.assert(
      fc.property(bucket, threshold, (b, t) => {
        const arm = armOf(b, t);
        const inControl = b >= t && b < Math.min(2 * t, BUCKETS);
        expect(arm === 'control').toBe(inControl);
        if (arm === 'control') expect(b).toBeGreaterThanOrEqual(t);
      }),
    );
  });

  it('moves users control -> treatment as p rises, never treatment -> control', () => {
    fc.assert(
      fc.property(bucket, threshold, threshold, (b, x, y) => {
        const [low, high] = x <= y ? [x, y] : [y, x];
        const before = armOf(b, low);
        const after = armOf(b, high);
        if (before === 'treatment') expect(after).toBe('treatment');
        if (before === 'control') expect(after === 'control' || after === 'treatment').toBe(true);
        if (after === null) expect(before).toBe(null);
      }),
    );
  });

  it('has no control at 0 % and 100 %, and clamps odd thresholds', () => {
    expect(countArms(0)).toEqual({ treatment: 0, control: 0 });
    expect(countArms(BUCKETS)).toEqual({ treatment: BUCKETS, control: 0 });
    expect(armOf(5, -3)).toBe(null);
    expect(armOf(9999, 20_000)).toBe('treatment');
    expect(expectedArmShares(0)).toBe(null);
    expect(expectedArmShares(BUCKETS)).toBe(null);
    expect(expectedArmShares(1000)).toEqual({ treatment: 0.5, control: 0.5 });
    expect(expectedArmShares(7500)).toEqual({ treatment: 0.75, control: 0.25 });
  });

  it('splits real users deterministically into two groups of about the same size', () => {
    const prefix = murmurPrefix('aiExtraction');
    const t = percentageToThreshold(10);
    let treatment = 0;
    let control = 0;
    for (let i = 0; i < 50_000; i++) {
      const id = `user-${i}`;
      const arm = armOfUser(prefix, id, t);
      expect(arm).toBe(armOf(bucketOf('aiExtraction', id), t));
      if (arm === 'treatment') treatment++;
      if (arm === 'control') control++;
    }
    // 10 % each of 50,000: 5,000 ± 3.3 sd of about 67.
    expect(Math.abs(treatment - 5000)).toBeLessThan(220);
    expect(Math.abs(control - 5000)).toBeLessThan(220);
  });
});
