import { describe, expect, it } from 'vitest';
import { bucketOf } from '../src/bucketing';
import { armOf, checkSampleRatio, expectedArmShares, USER_ESTIMATE_RELATIVE_ERROR } from '../src/experiments';
import { binomial, seededRandom } from '../src/experiments/random';
import { HLL_REGISTERS, hllAdd, hllEstimate, sparseRegisters } from '../src/metrics/hyperloglog';

const equal = { treatment: 1, control: 1 };

describe('sample-ratio-mismatch check', () => {
  it("is Pearson's chi-square against the expected split", () => {
    const r = checkSampleRatio({ treatment: 5100, control: 4900 }, equal);
    expect(r.chiSquare).toBeCloseTo(4, 10);
    expect(r.degreesOfFreedom).toBe(1);
    expect(r.pValue).toBeCloseTo(0.0455, 4);
    expect(r.mismatch).toBe(false);
    expect(r.observedShares).toEqual({ control: 0.49, treatment: 0.51 });
    const three = checkSampleRatio({ a: 100, b: 200, c: 300 }, { a: 1, b: 2, c: 3 });
    expect(three.chiSquare).toBeCloseTo(0, 12);
    expect(three.degreesOfFreedom).toBe(2);
  });

  it('trips on a 55/45 split at large n and not on a fair split', () => {
    expect(checkSampleRatio({ treatment: 5500, control: 4500 }, equal).mismatch).toBe(true);
    expect(checkSampleRatio({ treatment: 55_000, control: 45_000 }, equal).pValue).toBeLessThan(1e-100);
    // A 3:1 split is fair at 75 %, where the control is only a quarter of the users.
    const shares = expectedArmShares(7500)!;
    expect(checkSampleRatio({ treatment: 30_080, control: 9_920 }, shares).mismatch).toBe(false);
    expect(checkSampleRatio({ treatment: 20_000, control: 20_000 }, shares).mismatch).toBe(true);
  });

  it('trips on fair random splits no more often than its alpha of 0.001 allows', () => {
    const random = seededRandom(42);
    let mismatches = 0;
    let broken = 0;
    for (let run = 0; run < 200; run++) {
      const n = 20_000;
      const fair = binomial(random, n, 0.5);
      if (checkSampleRatio({ treatment: fair, control: n - fair }, equal).mismatch) mismatches++;
      const skewed = binomial(random, n, 0.55);
      if (checkSampleRatio({ treatment: skewed, control: n - skewed }, equal).mismatch) broken++;
    }
    // P(Binomial(200, 0.001) > 2) is about 0.001.
    expect(mismatches).toBeLessThanOrEqual(2);
    expect(broken).toBe(200);
  });

  it('waits for enough units, and calls exposures in a zero-weight arm a mismatch', () => {
    const early = checkSampleRatio({ treatment: 7, control: 0 }, equal);
    expect(early.sufficient).toBe(false);
    expect(early.mismatch).toBe(false);
    const stray = checkSampleRatio({ a: 500, b: 500, c: 1 }, { a: 1, b: 1, c: 0 });
    expect(stray.mismatch).toBe(true);
    expect(stray.pValue).toBe(0);
    expect(checkSampleRatio({}, equal)).toMatchObject({ mismatch: false, total: 0, pValue: 1 });
    expect(() => checkSampleRatio({ a: 1 }, { a: 0 })).toThrow(/at least one weight must be > 0/);
    expect(() => checkSampleRatio({ a: -1 }, { a: 1 })).toThrow(
      /observed count of arm a must be >= 0, got -1/,
    );
  });

  it('accounts for the error of HyperLogLog user estimates when told to', () => {
    expect(USER_ESTIMATE_RELATIVE_ERROR).toBeCloseTo(1.04 / Math.sqrt(HLL_REGISTERS), 12);
    // Real users split by the real buckets at 50 %: exact counts are fair, and so are the
    // estimates once their ±2.3 % error is allowed for.
    let fairAlarms = 0;
    for (const salt of ['aiExtraction', 'smartSort', 'ocr']) {
      const registers = { treatment: new Uint8Array(HLL_REGISTERS), control: new Uint8Array(HLL_REGISTERS) };
      const exact = { treatment: 0, control: 0 };
      for (let i = 0; i < 40_000; i++) {
        const id = `${salt}-user-${i}`;
        const arm = armOf(bucketOf(salt, id), 5000)!;
        exact[arm]++;
        hllAdd(registers[arm], id);
      }
      const estimated = {
        treatment: hllEstimate(sparseRegisters(registers.treatment)),
        control: hllEstimate(sparseRegisters(registers.control)),
      };
      if (checkSampleRatio(exact, equal).mismatch) fairAlarms++;
      const noisy = checkSampleRatio(estimated, equal, { relativeError: USER_ESTIMATE_RELATIVE_ERROR });
      if (noisy.mismatch) fairAlarms++;
      // A 60/40 split of the estimates still trips.
      const skewed = { treatment: estimated.treatment * 1.2, control: estimated.control * 0.8 };
      expect(checkSampleRatio(skewed, equal, { relativeError: USER_ESTIMATE_RELATIVE_ERROR }).mismatch).toBe(
        true,
      );
    }
    expect(fairAlarms).toBe(0);
  });

  it('widens with the dispersion of call counts', () => {
    const calls = { treatment: 51_000, control: 49_000 };
    expect(checkSampleRatio(calls, equal).mismatch).toBe(true);
    expect(checkSampleRatio(calls, equal, { dispersion: 10 }).mismatch).toBe(false);
  });
});
